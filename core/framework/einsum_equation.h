// Einsum equations ("ij,jk->ik", "...ij,...jk->...ik", "ii->i", "ij->"):
// the parse shared by the op's shape function and its kernel.
#ifndef RILL_CORE_FRAMEWORK_EINSUM_EQUATION_H_
#define RILL_CORE_FRAMEWORK_EINSUM_EQUATION_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"

namespace rill {

// An equation with its operands' ranks resolved: every dim of every operand
// and of the output has a label. Letters are labels 0 to 51; the dims an
// ellipsis stands for are labels from kFirstEllipsisLabel on, aligned to the
// right across operands as broadcasting aligns them.
struct EinsumEquation {
  static constexpr int kFirstEllipsisLabel = 52;

  std::vector<std::vector<int>> inputs;  // One label per dim, per operand.
  std::vector<int> output;
  int ellipsis_rank = 0;  // Dims the output's ellipsis stands for.
  // Whether each operand's subscripts have a "..." (then it comes before
  // every letter in it when ellipsis_leading[i]).
  std::vector<bool> has_ellipsis, ellipsis_leading;

  bool IsEllipsis(int label) const { return label >= kFirstEllipsisLabel; }
  // The label's spelling in an equation ("." for ellipsis dims).
  static char Letter(int label);
};

// `ranks` holds each operand's rank; -1 when unknown, when an ellipsis
// stands for one dim (enough to spell the equation again). Without "->", the
// output is the ellipsis dims and then the letters used once, alphabetically
// (numpy's rule). Errors name what is wrong with the equation.
absl::StatusOr<EinsumEquation> ParseEinsum(absl::string_view equation,
                                           absl::Span<const int> ranks);

}  // namespace rill

#endif  // RILL_CORE_FRAMEWORK_EINSUM_EQUATION_H_

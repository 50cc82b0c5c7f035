#include "core/framework/einsum_equation.h"

#include <algorithm>
#include <map>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace rill {
namespace {

// One term's subscripts: letters as labels, -1 where "..." was.
absl::StatusOr<std::vector<int>> ParseTerm(absl::string_view term,
                                           absl::string_view equation) {
  std::vector<int> labels;
  bool ellipsis = false;
  for (size_t i = 0; i < term.size(); ++i) {
    const char c = term[i];
    if (c >= 'a' && c <= 'z') {
      labels.push_back(c - 'a');
    } else if (c >= 'A' && c <= 'Z') {
      labels.push_back(26 + c - 'A');
    } else if (term.substr(i, 3) == "...") {
      if (ellipsis) {
        return absl::InvalidArgumentError(
            absl::StrCat("einsum equation '", equation,
                         "': more than one '...' in '", term, "'"));
      }
      ellipsis = true;
      labels.push_back(-1);
      i += 2;
    } else if (c != ' ') {
      return absl::InvalidArgumentError(absl::StrCat(
          "einsum equation '", equation, "': unexpected '", std::string(1, c),
          "' (subscripts are letters and '...')"));
    }
  }
  return labels;
}

// Replaces a term's -1 by `dims` ellipsis labels, the last of them the
// last of the output's.
std::vector<int> Expand(const std::vector<int>& term, int dims, int total) {
  std::vector<int> out;
  for (int label : term) {
    if (label >= 0) {
      out.push_back(label);
      continue;
    }
    for (int j = 0; j < dims; ++j) {
      out.push_back(EinsumEquation::kFirstEllipsisLabel + total - dims + j);
    }
  }
  return out;
}

}  // namespace

char EinsumEquation::Letter(int label) {
  if (label < 26) return static_cast<char>('a' + label);
  if (label < kFirstEllipsisLabel) return static_cast<char>('A' + label - 26);
  return '.';
}

absl::StatusOr<EinsumEquation> ParseEinsum(absl::string_view equation,
                                           absl::Span<const int> ranks) {
  const size_t arrow = equation.find("->");
  const absl::string_view lhs = equation.substr(0, arrow);
  std::vector<absl::string_view> terms = absl::StrSplit(lhs, ',');
  if (terms.size() != ranks.size()) {
    return absl::InvalidArgumentError(
        absl::StrCat("einsum equation '", equation, "' has ", terms.size(),
                     " input subscripts for ", ranks.size(), " inputs"));
  }
  EinsumEquation eq;
  std::vector<std::vector<int>> parsed;
  std::vector<int> ellipsis_dims;
  for (size_t i = 0; i < terms.size(); ++i) {
    absl::StatusOr<std::vector<int>> term = ParseTerm(terms[i], equation);
    if (!term.ok()) return term.status();
    const int letters = static_cast<int>(std::count_if(
        term->begin(), term->end(), [](int l) { return l >= 0; }));
    const bool has = letters != static_cast<int>(term->size());
    // An unknown rank: the ellipsis stands for one dim.
    const int extra = ranks[i] < 0 ? (has ? 1 : 0) : ranks[i] - letters;
    if (extra < 0 || (!has && extra != 0)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "einsum equation '", equation, "': input ", i, " has rank ", ranks[i],
          " but subscripts '", terms[i], "'"));
    }
    eq.has_ellipsis.push_back(has);
    eq.ellipsis_leading.push_back(has && (*term)[0] == -1);
    eq.ellipsis_rank = std::max(eq.ellipsis_rank, has ? extra : 0);
    ellipsis_dims.push_back(has ? extra : 0);
    parsed.push_back(*std::move(term));
  }
  std::map<int, int> uses;
  for (size_t i = 0; i < parsed.size(); ++i) {
    eq.inputs.push_back(Expand(parsed[i], ellipsis_dims[i], eq.ellipsis_rank));
    for (int label : parsed[i]) {
      if (label >= 0) ++uses[label];
    }
  }
  if (arrow == absl::string_view::npos) {
    for (int j = 0; j < eq.ellipsis_rank; ++j) {
      eq.output.push_back(EinsumEquation::kFirstEllipsisLabel + j);
    }
    for (const auto& [label, count] : uses) {
      if (count == 1) eq.output.push_back(label);
    }
    return eq;
  }
  const absl::string_view rhs = equation.substr(arrow + 2);
  absl::StatusOr<std::vector<int>> out = ParseTerm(rhs, equation);
  if (!out.ok()) return out.status();
  const bool out_ellipsis =
      std::find(out->begin(), out->end(), -1) != out->end();
  if (eq.ellipsis_rank > 0 && !out_ellipsis) {
    return absl::InvalidArgumentError(absl::StrCat(
        "einsum equation '", equation,
        "': the inputs' '...' dims must appear in the output as '...'"));
  }
  std::vector<bool> seen(EinsumEquation::kFirstEllipsisLabel, false);
  for (int label : *out) {
    if (label < 0) continue;
    if (seen[label] || uses.find(label) == uses.end()) {
      return absl::InvalidArgumentError(
          absl::StrCat("einsum equation '", equation, "': output subscript '",
                       std::string(1, EinsumEquation::Letter(label)),
                       seen[label] ? "' appears twice" : "' is in no input"));
    }
    seen[label] = true;
  }
  eq.output = Expand(*out, eq.ellipsis_rank, eq.ellipsis_rank);
  return eq;
}

}  // namespace rill

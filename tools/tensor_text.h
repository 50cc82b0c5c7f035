// Tensors as the rill CLI reads and writes them: JSON values for --feed
// ("[[1,2],[3,4]]", "3.5", "true"), .npy files (@path.npy), and the JSON and
// text forms of fetched tensors.
#ifndef RILL_TOOLS_TENSOR_TEXT_H_
#define RILL_TOOLS_TENSOR_TEXT_H_

#include <cstdint>
#include <ostream>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "core/framework/tensor.h"

namespace rill::tools {

// Parses a JSON scalar or (nested, rectangular) array into a tensor of
// `dtype`. INVALID_ARGUMENT saying what is wrong (ragged lists, a value that
// does not fit the dtype, trailing text).
absl::StatusOr<Tensor> ParseJsonTensor(absl::string_view text, DataType dtype);

// Reads a NumPy .npy file (format 1.x/2.x, C order; float32/64, int8/16/32/64,
// uint8, bool). Its dtype must be `dtype` (any, for DT_INVALID).
absl::StatusOr<Tensor> ReadNpy(const std::string& path, DataType dtype);
// Writes a tensor as .npy (for tests and tools).
absl::Status WriteNpy(const Tensor& t, const std::string& path);

// Tensors of more elements than this print summarized in text: the first
// and last few values with "..." between, as numpy prints them.
inline constexpr int64_t kSummarizeThreshold = 1000;

// {"dtype": "float32", "shape": [2, 2], "values": [1, 2, 3, 4]}: every
// value, written to `out` as it goes (never the whole text in memory).
void WriteTensorJson(const Tensor& t, std::ostream& out);
std::string TensorToJson(const Tensor& t);
// "float32 [2,2] [1, 2, 3, 4]"; past kSummarizeThreshold elements, only
// the first and last `edge_items` values ("float32 [5000] [0, 1, 2, ...,
// 4997, 4998, 4999]"); every value when edge_items < 0.
void WriteTensorText(const Tensor& t, int64_t edge_items, std::ostream& out);
std::string TensorToText(const Tensor& t, int64_t edge_items = 3);

// Length of the UTF-8 sequence at s[i], or 0 when it is not valid UTF-8
// there (a stray continuation byte, a truncated sequence).
size_t Utf8Length(absl::string_view s, size_t i);

// A JSON string literal of `s`, quotes included: valid UTF-8 is kept as
// it is (quotes, backslashes and control characters escaped); bytes that
// are not UTF-8 are written one per code point, \u0000 to \u00ff (so that
// Python's text.encode("latin-1") gives them back).
std::string JsonString(absl::string_view s);

}  // namespace rill::tools

#endif  // RILL_TOOLS_TENSOR_TEXT_H_

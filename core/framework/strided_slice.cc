#include "core/framework/strided_slice.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace rill {
namespace {

bool Bit(int64_t mask, int i) { return (mask >> i) & 1; }

// One output entry before the final shape is assembled: a dense input
// dimension (possibly shrunk) or a new axis of size 1.
struct FinalDim {
  int dense = -1;  // -1 for a new axis.
  bool shrink = false;
};

}  // namespace

absl::StatusOr<StridedSliceSpec> ComputeStridedSlice(
    const PartialTensorShape& input, const std::vector<int64_t>& begin,
    const std::vector<int64_t>& end, const std::vector<int64_t>& strides,
    const StridedSliceMasks& masks) {
  const int n = static_cast<int>(begin.size());
  if (end.size() != begin.size() || strides.size() != begin.size()) {
    return absl::InvalidArgumentError(
        absl::StrCat("begin, end and strides must have equal length, got ",
                     begin.size(), ", ", end.size(), " and ", strides.size()));
  }
  if (n > 64) {
    return absl::InvalidArgumentError("strided slice has more than 64 indices");
  }
  const int rank = input.dims();
  int ellipsis_count = 0;
  int new_axis_after_ellipsis = 0;
  for (int i = 0; i < n; ++i) {
    if (Bit(masks.ellipsis, i)) {
      ++ellipsis_count;
    } else if (ellipsis_count > 0 && Bit(masks.new_axis, i)) {
      ++new_axis_after_ellipsis;
    }
  }
  if (ellipsis_count > 1) {
    return absl::InvalidArgumentError(
        "strided slice may have at most one ellipsis");
  }

  StridedSliceSpec spec;
  spec.begin.assign(rank, 0);
  spec.end.assign(rank, 0);
  spec.stride.assign(rank, 1);
  std::vector<bool> begin_full(rank, true), end_full(rank, true);
  std::vector<bool> shrink(rank, false);
  std::vector<FinalDim> final_dims;

  int dense = 0;
  auto take_full = [&](int upto) {
    for (; dense < upto; ++dense) final_dims.push_back({dense, false});
  };
  for (int i = 0; i < n; ++i) {
    if (Bit(masks.ellipsis, i)) {
      const int covered = n - i - 1 - new_axis_after_ellipsis;
      take_full(std::max(dense, rank - covered));
      continue;
    }
    if (Bit(masks.new_axis, i)) {
      final_dims.push_back({-1, false});
      continue;
    }
    if (dense >= rank) {
      return absl::InvalidArgumentError(absl::StrCat(
          "strided slice index ", i, " is beyond the input's rank ", rank));
    }
    if (strides[i] == 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("strided slice stride ", i, " is zero"));
    }
    spec.begin[dense] = begin[i];
    spec.end[dense] = end[i];
    spec.stride[dense] = strides[i];
    begin_full[dense] = Bit(masks.begin, i);
    end_full[dense] = Bit(masks.end, i);
    shrink[dense] = Bit(masks.shrink_axis, i);
    final_dims.push_back({dense, shrink[dense]});
    ++dense;
  }
  take_full(rank);  // An implicit ellipsis at the end.

  spec.length.assign(rank, -1);
  for (int d = 0; d < rank; ++d) {
    const int64_t size = input.dim_size(d);
    const int64_t s = spec.stride[d];
    if (shrink[d]) {
      int64_t idx = spec.begin[d];
      if (size >= 0) {
        if (idx < 0) idx += size;
        if (idx < 0 || idx >= size) {
          return absl::InvalidArgumentError(absl::StrCat(
              "strided slice index ", spec.begin[d], " is out of bounds for ",
              "dimension ", d, " of size ", size));
        }
      }
      spec.begin[d] = idx;
      spec.end[d] = idx + 1;
      spec.stride[d] = 1;
      spec.length[d] = 1;
      continue;
    }
    if (size < 0) continue;
    auto clamp_index = [&](int64_t x, bool full, bool is_begin) {
      if (s > 0) {
        if (full) return is_begin ? int64_t{0} : size;
        if (x < 0) x += size;
        return std::clamp<int64_t>(x, 0, size);
      }
      if (full) return is_begin ? size - 1 : int64_t{-1};
      if (x < 0) x += size;
      return std::clamp<int64_t>(x, -1, size - 1);
    };
    const int64_t b = clamp_index(spec.begin[d], begin_full[d], true);
    const int64_t e = clamp_index(spec.end[d], end_full[d], false);
    spec.begin[d] = b;
    spec.end[d] = e;
    const int64_t span = s > 0 ? e - b : b - e;
    const int64_t step = s > 0 ? s : -s;
    spec.length[d] = span <= 0 ? 0 : (span + step - 1) / step;
  }

  spec.output_shape = PartialTensorShape::Scalar();
  for (const FinalDim& f : final_dims) {
    if (f.dense < 0) {
      spec.output_shape.AddDim(1);
    } else if (!f.shrink) {
      spec.output_shape.AddDim(spec.length[f.dense]);
    }
  }
  return spec;
}

}  // namespace rill

// BroadcastIndexer: numpy-style broadcasting of two inputs to an output,
// walked element by element without materializing either input.
#ifndef RILL_KERNELS_CPU_BROADCAST_H_
#define RILL_KERNELS_CPU_BROADCAST_H_

#include <cstdint>

#include "core/framework/tensor_shape.h"

namespace rill {

// Walks the elements of a broadcast: for output element i, the indices of
// the two inputs' elements that produce it.
class BroadcastIndexer {
 public:
  BroadcastIndexer(const TensorShape& out, const TensorShape& a,
                   const TensorShape& b)
      : dims_(out.dim_sizes().begin(), out.dim_sizes().end()),
        a_strides_(Strides(out, a)),
        b_strides_(Strides(out, b)) {}

  template <typename Fn>
  void ForRange(int64_t begin, int64_t end, Fn&& fn) const {
    const int rank = static_cast<int>(dims_.size());
    if (rank == 0) {
      for (int64_t i = begin; i < end; ++i) fn(i, 0, 0);
      return;
    }
    DimVector idx(rank, 0);
    int64_t rest = begin, ia = 0, ib = 0;
    for (int d = rank - 1; d >= 0; --d) {
      idx[d] = rest % dims_[d];
      rest /= dims_[d];
      ia += idx[d] * a_strides_[d];
      ib += idx[d] * b_strides_[d];
    }
    const int last = rank - 1;
    for (int64_t i = begin; i < end; ++i) {
      fn(i, ia, ib);
      ++idx[last];
      ia += a_strides_[last];
      ib += b_strides_[last];
      for (int d = last; d > 0 && idx[d] == dims_[d]; --d) {
        ia -= a_strides_[d] * dims_[d];
        ib -= b_strides_[d] * dims_[d];
        idx[d] = 0;
        ++idx[d - 1];
        ia += a_strides_[d - 1];
        ib += b_strides_[d - 1];
      }
    }
  }

 private:
  // Row-major strides of `in` aligned to `out`'s dims; 0 where broadcast.
  static DimVector Strides(const TensorShape& out, const TensorShape& in) {
    const int rank = out.dims();
    DimVector strides(rank, 0);
    int64_t s = 1;
    for (int d = in.dims() - 1; d >= 0; --d) {
      const int od = rank - in.dims() + d;
      strides[od] = in.dim_size(d) == 1 ? 0 : s;
      s *= in.dim_size(d);
    }
    return strides;
  }

  DimVector dims_;
  DimVector a_strides_;
  DimVector b_strides_;
};

}  // namespace rill

#endif  // RILL_KERNELS_CPU_BROADCAST_H_

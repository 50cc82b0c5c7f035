// MatMul on the CPU: float and double through OpenBLAS's GEMM (measured
// 3.4x faster than Eigen's on this project's machines, docs/benchmarks.md;
// it threads itself), integers through Eigen with the output rows split
// across oneTBB workers.
#include <cblas.h>

#include <eigen3/Eigen/Core>

#include "absl/strings/str_cat.h"
#include "core/framework/kernel_registry.h"
#include "core/platform/status_macros.h"

namespace rill {
namespace {

template <typename T>
using RowMajor =
    Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

template <typename T>
class MatMulOp : public OpKernel {
 public:
  explicit MatMulOp(OpKernelConstruction* c) : OpKernel(c) {
    status_.Update(c->GetAttr("transpose_a", &transpose_a_));
    status_.Update(c->GetAttr("transpose_b", &transpose_b_));
  }

  absl::Status Compute(OpKernelContext* ctx) const override {
    RETURN_IF_ERROR(status_);
    const Tensor& a = ctx->input(0);
    const Tensor& b = ctx->input(1);
    if (a.dims() != 2 || b.dims() != 2) {
      return ctx->InvalidArgument(absl::StrCat(
          "inputs must be matrices, got shapes ", a.shape().DebugString(),
          " and ", b.shape().DebugString()));
    }
    const int64_t m = a.dim_size(transpose_a_ ? 1 : 0);
    const int64_t k = a.dim_size(transpose_a_ ? 0 : 1);
    const int64_t kb = b.dim_size(transpose_b_ ? 1 : 0);
    const int64_t n = b.dim_size(transpose_b_ ? 0 : 1);
    if (k != kb) {
      return ctx->InvalidArgument(absl::StrCat(
          "matrix size-incompatible: In[0]: ", a.shape().DebugString(),
          ", In[1]: ", b.shape().DebugString()));
    }
    ASSIGN_OR_RETURN(Tensor * out,
                     ctx->allocate_output(0, TensorShape({m, n})));
    if (m == 0 || n == 0) return absl::OkStatus();
    Eigen::Map<const RowMajor<T>> am(a.flat<T>().data(), a.dim_size(0),
                                     a.dim_size(1));
    Eigen::Map<const RowMajor<T>> bm(b.flat<T>().data(), b.dim_size(0),
                                     b.dim_size(1));
    Eigen::Map<RowMajor<T>> om(out->flat<T>().data(), m, n);
    if (k == 0) return absl::OkStatus();  // Already zero.
    if constexpr (std::is_same_v<T, float> || std::is_same_v<T, double>) {
      const auto ta = transpose_a_ ? CblasTrans : CblasNoTrans;
      const auto tb = transpose_b_ ? CblasTrans : CblasNoTrans;
      const int lda = static_cast<int>(a.dim_size(1));
      const int ldb = static_cast<int>(b.dim_size(1));
      if constexpr (std::is_same_v<T, float>) {
        cblas_sgemm(CblasRowMajor, ta, tb, m, n, k, 1.0f,
                    a.flat<float>().data(), lda, b.flat<float>().data(), ldb,
                    0.0f, out->flat<float>().data(), n);
      } else {
        cblas_dgemm(CblasRowMajor, ta, tb, m, n, k, 1.0,
                    a.flat<double>().data(), lda, b.flat<double>().data(), ldb,
                    0.0, out->flat<double>().data(), n);
      }
      return absl::OkStatus();
    }
    // Each chunk computes a band of output rows.
    ParallelFor(ctx, m, 2 * k * n, [&](int64_t lo, int64_t hi) {
      const int64_t rows = hi - lo;
      auto out_rows = om.middleRows(lo, rows);
      if (transpose_a_) {
        auto a_rows = am.transpose().middleRows(lo, rows);
        if (transpose_b_) {
          out_rows.noalias() = a_rows * bm.transpose();
        } else {
          out_rows.noalias() = a_rows * bm;
        }
      } else {
        auto a_rows = am.middleRows(lo, rows);
        if (transpose_b_) {
          out_rows.noalias() = a_rows * bm.transpose();
        } else {
          out_rows.noalias() = a_rows * bm;
        }
      }
    });
    return absl::OkStatus();
  }

 private:
  absl::Status status_;
  bool transpose_a_ = false;
  bool transpose_b_ = false;
};

[[maybe_unused]] const bool kRegistered = [] {
  RegisterKernelForTypes<MatMulOp, float, double, int32_t, int64_t>(
      KernelDef("MatMul", kDeviceCpu), "T");
  return true;
}();

}  // namespace
}  // namespace rill

// Linear algebra on the CPU, batched over leading dims:
// - Einsum: each operand's repeated labels (diagonals), broadcast dims and
//   labels summed away are taken out first; two operands are then one
//   batched matrix product (Eigen), their labels sorted into batch, free and
//   contracted; the result is laid out in the output's order.
// - MatrixInverse and MatrixDeterminant through Eigen's LU with partial
//   pivoting; a singular matrix is an error for the inverse.
// - MatrixDiagV3, MatrixDiagPartV3, MatrixSetDiagV3: a band of diagonals
//   k = lower..upper, each stored as a row of max_len values aligned left or
//   right as `align` says, the rest padding.
#include <algorithm>
#include <eigen3/Eigen/Core>
#include <eigen3/Eigen/LU>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/framework/einsum_equation.h"
#include "core/framework/kernel_registry.h"
#include "core/platform/status_macros.h"
#include "kernels/cpu/int_values.h"

namespace rill {
namespace {

template <typename T>
using Matrix =
    Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
template <typename T>
using ConstMatrixMap = Eigen::Map<const Matrix<T>>;
template <typename T>
using MatrixMap = Eigen::Map<Matrix<T>>;

// --- Einsum.

// One operand as labelled dims: its extent and stride under each label (a
// label repeated in the operand has the sum of its dims' strides: its
// diagonal).
struct Labelled {
  std::vector<int> labels;  // Unique, in order of first appearance.
  std::vector<int64_t> extent, stride;

  int Find(int label) const {
    auto it = std::find(labels.begin(), labels.end(), label);
    return it == labels.end() ? -1 : static_cast<int>(it - labels.begin());
  }
};

absl::StatusOr<Labelled> LabelDims(const TensorShape& shape,
                                   const std::vector<int>& labels) {
  Labelled out;
  int64_t stride = 1;
  std::vector<int64_t> strides(labels.size());
  for (int d = static_cast<int>(labels.size()) - 1; d >= 0; --d) {
    strides[d] = stride;
    stride *= shape.dim_size(d);
  }
  for (size_t d = 0; d < labels.size(); ++d) {
    const int at = out.Find(labels[d]);
    if (at < 0) {
      out.labels.push_back(labels[d]);
      out.extent.push_back(shape.dim_size(d));
      out.stride.push_back(strides[d]);
    } else if (out.extent[at] != shape.dim_size(d)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "subscript '", std::string(1, EinsumEquation::Letter(labels[d])),
          "' is repeated over dims of ", out.extent[at], " and ",
          shape.dim_size(d)));
    } else {
      out.stride[at] += strides[d];
    }
  }
  return out;
}

// out (dense, dims = the extents of `keep` in that order) = `in` summed over
// its labels not in `keep`. A label in `keep` that `in` lacks has extent 1.
template <typename T>
void Rearrange(const T* in, const Labelled& l, const std::vector<int>& keep,
               T* out) {
  std::vector<int64_t> keep_extent, keep_stride, sum_extent, sum_stride;
  for (int label : keep) {
    const int at = l.Find(label);
    keep_extent.push_back(at < 0 ? 1 : l.extent[at]);
    keep_stride.push_back(at < 0 ? 0 : l.stride[at]);
  }
  for (size_t i = 0; i < l.labels.size(); ++i) {
    if (std::find(keep.begin(), keep.end(), l.labels[i]) != keep.end()) {
      continue;
    }
    sum_extent.push_back(l.extent[i]);
    sum_stride.push_back(l.stride[i]);
  }
  // The offsets of everything summed into one output value.
  std::vector<int64_t> offsets = {0};
  for (size_t i = 0; i < sum_extent.size(); ++i) {
    std::vector<int64_t> next;
    next.reserve(offsets.size() * sum_extent[i]);
    for (int64_t base : offsets) {
      for (int64_t j = 0; j < sum_extent[i]; ++j) {
        next.push_back(base + j * sum_stride[i]);
      }
    }
    offsets = std::move(next);
  }
  int64_t total = 1;
  for (int64_t e : keep_extent) total *= e;
  std::vector<int64_t> index(keep.size(), 0);
  int64_t base = 0;
  for (int64_t o = 0; o < total; ++o) {
    T sum = T(0);
    for (int64_t off : offsets) sum += in[base + off];
    out[o] = sum;
    // Odometer over the kept labels, last fastest.
    for (int d = static_cast<int>(keep.size()) - 1; d >= 0; --d) {
      base += keep_stride[d];
      if (++index[d] < keep_extent[d]) break;
      base -= keep_stride[d] * keep_extent[d];
      index[d] = 0;
    }
  }
}

template <typename T>
class EinsumOp : public OpKernel {
 public:
  explicit EinsumOp(OpKernelConstruction* c) : OpKernel(c) {
    status_ = c->GetAttr("equation", &equation_);
  }

  absl::Status Compute(OpKernelContext* ctx) const override {
    RETURN_IF_ERROR(status_);
    const int n = ctx->num_inputs();
    if (n > 2) {
      return ctx->InvalidArgument(absl::StrCat(
          "Einsum takes one or two operands, got ", n,
          " (split longer equations into pairs, as tf.einsum does)"));
    }
    std::vector<int> ranks;
    for (int i = 0; i < n; ++i) ranks.push_back(ctx->input(i).dims());
    absl::StatusOr<EinsumEquation> eq = ParseEinsum(equation_, ranks);
    if (!eq.ok()) return ctx->InvalidArgument(eq.status().message());

    // Each label's size over the operands: equal, or 1 for ellipsis dims
    // that broadcast.
    std::vector<Labelled> ops;
    std::vector<int64_t> size(
        EinsumEquation::kFirstEllipsisLabel + eq->ellipsis_rank, -1);
    for (int i = 0; i < n; ++i) {
      absl::StatusOr<Labelled> l =
          LabelDims(ctx->input(i).shape(), eq->inputs[i]);
      if (!l.ok()) {
        return ctx->InvalidArgument(
            absl::StrCat("input ", i, ": ", l.status().message()));
      }
      for (size_t j = 0; j < l->labels.size(); ++j) {
        int64_t& s = size[l->labels[j]];
        const int64_t e = l->extent[j];
        if (s == -1 || s == 1) {
          s = std::max(s, e);
        } else if (e != s && !(e == 1 && eq->IsEllipsis(l->labels[j]))) {
          return ctx->InvalidArgument(absl::StrCat(
              "einsum '", equation_, "': subscript '",
              std::string(1, EinsumEquation::Letter(l->labels[j])),
              "' has size ", s, " in one operand and ", e, " in input ", i));
        }
      }
      ops.push_back(*std::move(l));
    }
    std::vector<int64_t> out_dims;
    for (int label : eq->output)
      out_dims.push_back(std::max<int64_t>(size[label], 1));
    ASSIGN_OR_RETURN(TensorShape out_shape, TensorShape::Create(out_dims));
    ASSIGN_OR_RETURN(Tensor * out, ctx->allocate_output(0, out_shape));
    T* result = out->flat<T>().data();
    if (n == 1) {
      Rearrange(ctx->input(0).flat<T>().data(), ops[0], eq->output, result);
      return absl::OkStatus();
    }
    // A dim of 1 that broadcasts is no label of its operand.
    for (int i = 0; i < 2; ++i) {
      Labelled& l = ops[i];
      for (size_t j = 0; j < l.labels.size(); ++j) {
        if (l.extent[j] == 1 && size[l.labels[j]] > 1) l.stride[j] = 0;
      }
    }
    auto in = [&](int i, int label) {
      const int at = ops[i].Find(label);
      return at >= 0 && !(ops[i].extent[at] == 1 && size[label] > 1);
    };
    auto in_output = [&](int label) {
      return std::find(eq->output.begin(), eq->output.end(), label) !=
             eq->output.end();
    };
    std::vector<int> batch, free_a, free_b, contract;
    for (int label = 0; label < static_cast<int>(size.size()); ++label) {
      const bool a = in(0, label), b = in(1, label), o = in_output(label);
      if (a && b) {
        (o ? batch : contract).push_back(label);
      } else if (a && o) {
        free_a.push_back(label);
      } else if (b && o) {
        free_b.push_back(label);
      }
    }
    auto concat = [](std::initializer_list<const std::vector<int>*> parts) {
      std::vector<int> all;
      for (const auto* p : parts) all.insert(all.end(), p->begin(), p->end());
      return all;
    };
    auto product = [&](const std::vector<int>& labels) {
      int64_t p = 1;
      for (int label : labels) p *= std::max<int64_t>(size[label], 1);
      return p;
    };
    const int64_t nb = product(batch), m = product(free_a),
                  k = product(contract), nn = product(free_b);
    // Labels of one operand alone, not in the output, are summed here.
    std::vector<T> a(nb * m * k), b(nb * k * nn);
    Rearrange(ctx->input(0).flat<T>().data(), ops[0],
              concat({&batch, &free_a, &contract}), a.data());
    Rearrange(ctx->input(1).flat<T>().data(), ops[1],
              concat({&batch, &contract, &free_b}), b.data());
    std::vector<T> c(nb * m * nn);
    for (int64_t i = 0; i < nb; ++i) {
      MatrixMap<T>(c.data() + i * m * nn, m, nn).noalias() =
          ConstMatrixMap<T>(a.data() + i * m * k, m, k) *
          ConstMatrixMap<T>(b.data() + i * k * nn, k, nn);
    }
    // The product's layout is batch, free_a, free_b: into the output's.
    const std::vector<int> c_labels = concat({&batch, &free_a, &free_b});
    std::vector<int64_t> c_dims;
    for (int label : c_labels)
      c_dims.push_back(std::max<int64_t>(size[label], 1));
    ASSIGN_OR_RETURN(TensorShape c_shape, TensorShape::Create(c_dims));
    ASSIGN_OR_RETURN(Labelled c_labelled, LabelDims(c_shape, c_labels));
    Rearrange(c.data(), c_labelled, eq->output, result);
    return absl::OkStatus();
  }

 private:
  absl::Status status_;
  std::string equation_;
};

// --- Inverse and determinant.

// The number of n x n matrices in `in`, [..., n, n].
absl::StatusOr<int64_t> SquareMatrices(OpKernelContext* ctx, const Tensor& in,
                                       int64_t* n) {
  const int r = in.dims();
  if (r < 2 || in.dim_size(r - 1) != in.dim_size(r - 2)) {
    return ctx->InvalidArgument(
        absl::StrCat("expected square matrices [..., n, n], got shape ",
                     in.shape().DebugString()));
  }
  *n = in.dim_size(r - 1);
  return *n == 0 ? 0 : in.NumElements() / (*n * *n);
}

template <typename T>
class MatrixInverseOp : public OpKernel {
 public:
  explicit MatrixInverseOp(OpKernelConstruction* c) : OpKernel(c) {
    status_ = c->GetAttr("adjoint", &adjoint_);
  }
  absl::Status Compute(OpKernelContext* ctx) const override {
    RETURN_IF_ERROR(status_);
    const Tensor& in = ctx->input(0);
    int64_t n = 0;
    ASSIGN_OR_RETURN(const int64_t count, SquareMatrices(ctx, in, &n));
    ASSIGN_OR_RETURN(Tensor * out, ctx->allocate_output(0, in.shape()));
    for (int64_t i = 0; i < count; ++i) {
      ConstMatrixMap<T> a(in.flat<T>().data() + i * n * n, n, n);
      const Eigen::PartialPivLU<Matrix<T>> lu =
          adjoint_ ? Eigen::PartialPivLU<Matrix<T>>(a.adjoint())
                   : Eigen::PartialPivLU<Matrix<T>>(a);
      if (!(lu.matrixLU().diagonal().cwiseAbs().minCoeff() > T(0))) {
        return ctx->InvalidArgument(
            absl::StrCat("matrix ", i, " of the input is not invertible"));
      }
      MatrixMap<T>(out->flat<T>().data() + i * n * n, n, n) = lu.inverse();
    }
    return absl::OkStatus();
  }

 private:
  absl::Status status_;
  bool adjoint_ = false;
};

template <typename T>
class MatrixDeterminantOp : public OpKernel {
 public:
  using OpKernel::OpKernel;
  absl::Status Compute(OpKernelContext* ctx) const override {
    const Tensor& in = ctx->input(0);
    int64_t n = 0;
    ASSIGN_OR_RETURN(int64_t count, SquareMatrices(ctx, in, &n));
    const absl::Span<const int64_t> dims = in.shape().dim_sizes();
    ASSIGN_OR_RETURN(TensorShape shape,
                     TensorShape::Create(dims.first(dims.size() - 2)));
    ASSIGN_OR_RETURN(Tensor * out, ctx->allocate_output(0, shape));
    if (n == 0) count = out->NumElements();
    for (int64_t i = 0; i < count; ++i) {
      out->flat<T>()[i] =
          n == 0 ? T(1)
                 : Eigen::PartialPivLU<Matrix<T>>(
                       ConstMatrixMap<T>(in.flat<T>().data() + i * n * n, n, n))
                       .determinant();
    }
    return absl::OkStatus();
  }
};

// --- Bands of diagonals.

// Diagonals lower..upper of a rows x cols matrix; diagonal d (column minus
// row) is stored in row upper - d of a [num_diags, max_len] block.
struct Band {
  int64_t lower = 0, upper = 0, rows = 0, cols = 0, max_len = 0;
  bool left_super = false, left_sub = true;  // RIGHT_LEFT.

  int64_t num_diags() const { return upper - lower + 1; }
  int64_t Length(int64_t d) const {
    return std::min(rows + std::min<int64_t>(0, d),
                    cols - std::max<int64_t>(0, d));
  }
  // Where diagonal d's values start in its row.
  int64_t Offset(int64_t d) const {
    const bool left = d >= 0 ? left_super : left_sub;
    return left ? 0 : max_len - Length(d);
  }
  // The block position of element (i, j); -1 outside the band.
  int64_t At(int64_t i, int64_t j) const {
    const int64_t d = j - i;
    if (d < lower || d > upper) return -1;
    return (upper - d) * max_len + std::min(i, j) + Offset(d);
  }
};

// The align attr and the k input into a band (rows, cols, max_len left to
// the caller).
class BandOp : public OpKernel {
 public:
  explicit BandOp(OpKernelConstruction* c) : OpKernel(c) {
    std::string align;
    status_ = c->GetAttr("align", &align);
    left_super_ = align == "LEFT_LEFT" || align == "LEFT_RIGHT";
    left_sub_ = align == "LEFT_LEFT" || align == "RIGHT_LEFT";
  }

 protected:
  absl::StatusOr<Band> ReadK(OpKernelContext* ctx, int k_index) const {
    RETURN_IF_ERROR(status_);
    const Tensor& k = ctx->input(k_index);
    const std::vector<int64_t> ks = IntValues(k);
    if (k.dims() > 1 || ks.empty() || ks.size() > 2) {
      return ctx->InvalidArgument(absl::StrCat(
          "k must be a scalar or a vector of one or two diagonals, got shape ",
          k.shape().DebugString()));
    }
    Band band;
    band.lower = ks[0];
    band.upper = ks.back();
    if (band.lower > band.upper) {
      return ctx->InvalidArgument(
          absl::StrCat("k = [", band.lower, ", ", band.upper,
                       "]: the lower diagonal must not be above the upper"));
    }
    band.left_super = left_super_;
    band.left_sub = left_sub_;
    return band;
  }

  // Checks that the band lies in a rows x cols matrix.
  absl::Status InMatrix(OpKernelContext* ctx, const Band& band) const {
    for (int64_t d : {band.lower, band.upper}) {
      if (d != 0 && (d <= -band.rows || d >= band.cols)) {
        return ctx->InvalidArgument(absl::StrCat("diagonal ", d,
                                                 " lies outside a ", band.rows,
                                                 " x ", band.cols, " matrix"));
      }
    }
    return absl::OkStatus();
  }

  // A scalar input.
  template <typename T>
  static absl::StatusOr<T> Scalar(OpKernelContext* ctx, int index,
                                  absl::string_view what) {
    const Tensor& t = ctx->input(index);
    if (t.NumElements() != 1) {
      return ctx->InvalidArgument(absl::StrCat(
          what, " must be a scalar, got shape ", t.shape().DebugString()));
    }
    return t.flat<T>()[0];
  }

  // The batch dims of `t` before its last `inner` dims.
  static std::vector<int64_t> Batch(const Tensor& t, int inner) {
    const absl::Span<const int64_t> dims = t.shape().dim_sizes();
    return std::vector<int64_t>(dims.begin(), dims.end() - inner);
  }

 private:
  absl::Status status_;
  bool left_super_ = false, left_sub_ = true;
};

template <typename T>
class MatrixDiagOp : public BandOp {
 public:
  using BandOp::BandOp;
  absl::Status Compute(OpKernelContext* ctx) const override {
    ASSIGN_OR_RETURN(Band band, ReadK(ctx, 1));
    ASSIGN_OR_RETURN(int32_t rows, Scalar<int32_t>(ctx, 2, "num_rows"));
    ASSIGN_OR_RETURN(int32_t cols, Scalar<int32_t>(ctx, 3, "num_cols"));
    ASSIGN_OR_RETURN(T padding, Scalar<T>(ctx, 4, "padding_value"));
    const Tensor& diag = ctx->input(0);
    const int inner = band.num_diags() > 1 ? 2 : 1;
    if (diag.dims() < inner ||
        (inner == 2 && diag.dim_size(diag.dims() - 2) != band.num_diags())) {
      return ctx->InvalidArgument(
          absl::StrCat("diagonal must be [..., ",
                       inner == 2 ? absl::StrCat(band.num_diags(), ", ") : "",
                       "max_len] for k = [", band.lower, ", ", band.upper,
                       "], got shape ", diag.shape().DebugString()));
    }
    band.max_len = diag.dim_size(diag.dims() - 1);
    const int64_t min_rows = band.max_len - std::min<int64_t>(band.upper, 0);
    const int64_t min_cols = band.max_len + std::max<int64_t>(band.lower, 0);
    if (rows == -1 && cols == -1) {
      rows = cols = std::max(min_rows, min_cols);
    } else if (rows == -1) {
      rows = min_rows;
    } else if (cols == -1) {
      cols = min_cols;
    }
    if (rows < min_rows || cols < min_cols ||
        (rows != min_rows && cols != min_cols)) {
      return ctx->InvalidArgument(
          absl::StrCat("num_rows ", rows, " and num_cols ", cols,
                       " do not fit diagonals of length ", band.max_len,
                       " for k = [", band.lower, ", ", band.upper, "]"));
    }
    band.rows = rows;
    band.cols = cols;
    std::vector<int64_t> dims = Batch(diag, inner);
    dims.push_back(rows);
    dims.push_back(cols);
    absl::StatusOr<TensorShape> shape = TensorShape::Create(dims);
    if (!shape.ok()) return ctx->InvalidArgument(shape.status().message());
    ASSIGN_OR_RETURN(Tensor * out, ctx->allocate_output(0, *shape));
    const int64_t block = band.num_diags() * band.max_len;
    const int64_t count =
        rows * cols == 0 ? 0 : out->NumElements() / (rows * cols);
    const T* in = diag.flat<T>().data();
    T* o = out->flat<T>().data();
    for (int64_t b = 0; b < count; ++b) {
      for (int64_t i = 0; i < rows; ++i) {
        for (int64_t j = 0; j < cols; ++j) {
          const int64_t at = band.At(i, j);
          *o++ = at < 0 ? padding : in[b * block + at];
        }
      }
    }
    return absl::OkStatus();
  }
};

// MatrixDiagPartV3 (diagonal at input 2 is the padding) and
// MatrixSetDiagV3 (input 1 the diagonals, 2 the band).
template <typename T>
class MatrixDiagPartOp : public BandOp {
 public:
  using BandOp::BandOp;
  absl::Status Compute(OpKernelContext* ctx) const override {
    const bool set = type_string() == "MatrixSetDiagV3";
    ASSIGN_OR_RETURN(Band band, ReadK(ctx, set ? 2 : 1));
    const Tensor& in = ctx->input(0);
    if (in.dims() < 2) {
      return ctx->InvalidArgument(
          absl::StrCat("input must be [..., rows, cols], got shape ",
                       in.shape().DebugString()));
    }
    band.rows = in.dim_size(in.dims() - 2);
    band.cols = in.dim_size(in.dims() - 1);
    RETURN_IF_ERROR(InMatrix(ctx, band));
    band.max_len = std::min(band.rows + std::min<int64_t>(band.upper, 0),
                            band.cols - std::max<int64_t>(band.lower, 0));
    std::vector<int64_t> dims = Batch(in, 2);
    if (band.num_diags() > 1) dims.push_back(band.num_diags());
    dims.push_back(band.max_len);
    ASSIGN_OR_RETURN(const TensorShape shape, TensorShape::Create(dims));
    const int64_t block = band.num_diags() * band.max_len;
    const int64_t matrix = band.rows * band.cols;
    const int64_t count = matrix == 0 ? 0 : in.NumElements() / matrix;
    const T* x = in.flat<T>().data();
    if (set) {
      const Tensor& diag = ctx->input(1);
      if (diag.shape() != shape) {
        return ctx->InvalidArgument(absl::StrCat(
            "diagonal must have shape ", shape.DebugString(), " for input ",
            in.shape().DebugString(), " and k = [", band.lower, ", ",
            band.upper, "], got ", diag.shape().DebugString()));
      }
      ASSIGN_OR_RETURN(Tensor * out, ctx->allocate_output(0, in.shape()));
      const T* d = diag.flat<T>().data();
      T* o = out->flat<T>().data();
      for (int64_t b = 0; b < count; ++b) {
        for (int64_t i = 0; i < band.rows; ++i) {
          for (int64_t j = 0; j < band.cols; ++j, ++x, ++o) {
            const int64_t at = band.At(i, j);
            *o = at < 0 ? *x : d[b * block + at];
          }
        }
      }
      return absl::OkStatus();
    }
    ASSIGN_OR_RETURN(T padding, Scalar<T>(ctx, 2, "padding_value"));
    ASSIGN_OR_RETURN(Tensor * out, ctx->allocate_output(0, shape));
    T* o = out->flat<T>().data();
    std::fill(o, o + out->NumElements(), padding);
    for (int64_t b = 0; b < count; ++b) {
      for (int64_t i = 0; i < band.rows; ++i) {
        for (int64_t j = 0; j < band.cols; ++j, ++x) {
          const int64_t at = band.At(i, j);
          if (at >= 0) o[b * block + at] = *x;
        }
      }
    }
    return absl::OkStatus();
  }
};

[[maybe_unused]] const bool kRegistered = [] {
  RegisterKernelForTypes<EinsumOp, float, double, int32_t, int64_t>(
      KernelDef("Einsum", kDeviceCpu), "T");
  RegisterKernelForTypes<MatrixInverseOp, float, double>(
      KernelDef("MatrixInverse", kDeviceCpu), "T");
  RegisterKernelForTypes<MatrixDeterminantOp, float, double>(
      KernelDef("MatrixDeterminant", kDeviceCpu), "T");
  RegisterKernelForTypes<MatrixDiagOp, float, double, int32_t, int64_t, bool>(
      KernelDef("MatrixDiagV3", kDeviceCpu), "T");
  for (const char* op : {"MatrixDiagPartV3", "MatrixSetDiagV3"}) {
    RegisterKernelForTypes<MatrixDiagPartOp, float, double, int32_t, int64_t,
                           bool>(KernelDef(op, kDeviceCpu), "T");
  }
  return true;
}();

}  // namespace
}  // namespace rill

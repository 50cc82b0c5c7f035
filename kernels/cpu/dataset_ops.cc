// tf.data's datasets and iterators (core/ops/dataset_ops.cc) on the CPU.
//
// A dataset op's result is an immutable Dataset value in a variant scalar;
// a dataset made from another holds it. MakeIterator installs a fresh walk
// of a dataset in an iterator resource (a handle resource, like a queue);
// IteratorGetNext takes the next element under the iterator's lock and
// answers OUT_OF_RANGE "End of sequence" after the last, as TensorFlow.
// ShuffleDataset draws from TensorFlow's Philox stream the way TensorFlow's
// does, so a seeded shuffle gives TensorFlow's order. Elements are made on
// the thread that asks for them (a prefetch or a parallel map adds no
// thread), in the order TensorFlow's deterministic pipelines give.
#include <algorithm>
#include <deque>
#include <functional>
#include <limits>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "core/framework/kernel_registry.h"
#include "core/platform/status_macros.h"
#include "core/protos/resource_handle.pb.h"
#include "kernels/cpu/copy_elements.h"
#include "kernels/cpu/handle_resource.h"
#include "kernels/cpu/int_values.h"
#include "kernels/cpu/philox.h"
#include "runtime/executor/function.h"

namespace rill {
namespace {

using Element = std::vector<Tensor>;

// One walk over a dataset, which must outlive it. Not thread-safe: the
// iterator resource that owns it serializes the calls.
class DatasetIterator {
 public:
  virtual ~DatasetIterator() = default;
  // The next element, or *end = true after the last.
  virtual absl::Status GetNext(Element* out, bool* end) = 0;
};

class Dataset : public VariantValue {
 public:
  std::string TypeName() const override { return "Dataset"; }
  virtual std::unique_ptr<DatasetIterator> MakeIterator() const = 0;
};

using DatasetPtr = std::shared_ptr<const Dataset>;

absl::StatusOr<DatasetPtr> DatasetInput(OpKernelContext* ctx, int i) {
  const Tensor& t = ctx->input(i);
  DatasetPtr d;
  if (t.dtype() == DT_VARIANT && t.dims() == 0) {
    d = t.scalar<Variant>().shared<Dataset>();
  }
  if (d == nullptr) {
    return ctx->InvalidArgument(absl::StrCat("input ", i, " is not a dataset"));
  }
  return d;
}

void SetDatasetOutput(OpKernelContext* ctx, DatasetPtr d) {
  ctx->set_output(0, Tensor::Scalar<Variant>(Variant(std::move(d))));
}

// ---------------------------------------------------------------------------
// Datasets from tensors.

// TensorSliceDataset: row i of every component; TensorDataset: the
// components once.
class TensorsDataset : public Dataset {
 public:
  TensorsDataset(Element components, bool slice)
      : components_(std::move(components)), slice_(slice) {}

  std::unique_ptr<DatasetIterator> MakeIterator() const override {
    class It : public DatasetIterator {
     public:
      explicit It(const TensorsDataset* d) : d_(d) {}
      absl::Status GetNext(Element* out, bool* end) override {
        const int64_t n =
            d_->slice_ ? d_->components_[0].dim_size(0) : int64_t{1};
        *end = next_ >= n;
        if (*end) return absl::OkStatus();
        out->clear();
        for (const Tensor& c : d_->components_) {
          if (!d_->slice_) {
            out->push_back(c);
            continue;
          }
          ASSIGN_OR_RETURN(Tensor item, Row(c, next_));
          out->push_back(std::move(item));
        }
        ++next_;
        return absl::OkStatus();
      }

     private:
      const TensorsDataset* d_;
      int64_t next_ = 0;
    };
    return std::make_unique<It>(this);
  }

 private:
  const Element components_;
  const bool slice_;
};

class TensorsDatasetOp : public OpKernel {
 public:
  using OpKernel::OpKernel;
  absl::Status Compute(OpKernelContext* ctx) const override {
    const bool slice = type_string() == "TensorSliceDataset";
    Element components;
    for (int i = 0; i < ctx->num_inputs(); ++i) {
      const Tensor& c = ctx->input(i);
      if (slice &&
          (c.dims() < 1 || c.dim_size(0) != ctx->input(0).dim_size(0))) {
        return ctx->InvalidArgument(absl::StrCat(
            "component ", i, " of shape ", c.shape().DebugString(),
            " cannot be sliced along a first dimension of ",
            ctx->input(0).dims() > 0 ? ctx->input(0).dim_size(0) : 0,
            " like component 0"));
      }
      components.push_back(c);
    }
    SetDatasetOutput(
        ctx, std::make_shared<TensorsDataset>(std::move(components), slice));
    return absl::OkStatus();
  }
  bool IsExpensive() const override { return false; }
};

// RangeDataset: start, start + step, ... up to (not including) stop.
class RangeDataset : public Dataset {
 public:
  RangeDataset(int64_t start, int64_t stop, int64_t step, DataType dtype)
      : start_(start), stop_(stop), step_(step), dtype_(dtype) {}

  std::unique_ptr<DatasetIterator> MakeIterator() const override {
    class It : public DatasetIterator {
     public:
      explicit It(const RangeDataset* d) : d_(d), next_(d->start_) {}
      absl::Status GetNext(Element* out, bool* end) override {
        *end = d_->step_ > 0 ? next_ >= d_->stop_ : next_ <= d_->stop_;
        if (*end) return absl::OkStatus();
        ASSIGN_OR_RETURN(Tensor v, Tensor::Create(d_->dtype_, TensorShape()));
        switch (d_->dtype_) {
          case DT_INT32:
            v.scalar<int32_t>() = static_cast<int32_t>(next_);
            break;
          case DT_FLOAT:
            v.scalar<float>() = static_cast<float>(next_);
            break;
          case DT_DOUBLE:
            v.scalar<double>() = static_cast<double>(next_);
            break;
          default:
            v.scalar<int64_t>() = next_;
        }
        *out = {std::move(v)};
        next_ += d_->step_;
        return absl::OkStatus();
      }

     private:
      const RangeDataset* d_;
      int64_t next_;
    };
    return std::make_unique<It>(this);
  }

 private:
  const int64_t start_, stop_, step_;
  const DataType dtype_;
};

class RangeDatasetOp : public OpKernel {
 public:
  explicit RangeDatasetOp(OpKernelConstruction* c) : OpKernel(c) {
    std::vector<DataType> types;
    status_ = c->GetAttr("output_types", &types);
    if (status_.ok()) {
      dtype_ = types.empty() ? DT_INT64 : types[0];
      if (types.size() != 1 || (dtype_ != DT_INT64 && dtype_ != DT_INT32 &&
                                dtype_ != DT_FLOAT && dtype_ != DT_DOUBLE)) {
        status_ = absl::InvalidArgumentError(absl::StrCat(
            "node '", name(),
            "': a range has one int64, int32, float or double component"));
      }
    }
  }
  absl::Status Compute(OpKernelContext* ctx) const override {
    RETURN_IF_ERROR(status_);
    ASSIGN_OR_RETURN(int64_t start, IntScalarInput(ctx, 0, "start"));
    ASSIGN_OR_RETURN(int64_t stop, IntScalarInput(ctx, 1, "stop"));
    ASSIGN_OR_RETURN(int64_t step, IntScalarInput(ctx, 2, "step"));
    if (step == 0) return ctx->InvalidArgument("step must not be zero");
    SetDatasetOutput(ctx,
                     std::make_shared<RangeDataset>(start, stop, step, dtype_));
    return absl::OkStatus();
  }
  bool IsExpensive() const override { return false; }

 private:
  absl::Status status_;
  DataType dtype_ = DT_INT64;
};

// ---------------------------------------------------------------------------
// Datasets from a dataset.

// RepeatDataset: the input `count` times (-1: forever). An input that
// gives nothing in a pass ends the repeat (no endless empty loop).
class RepeatDataset : public Dataset {
 public:
  RepeatDataset(DatasetPtr input, int64_t count)
      : input_(std::move(input)), count_(count) {}

  std::unique_ptr<DatasetIterator> MakeIterator() const override {
    class It : public DatasetIterator {
     public:
      explicit It(const RepeatDataset* d) : d_(d) {}
      absl::Status GetNext(Element* out, bool* end) override {
        while (d_->count_ < 0 || pass_ < d_->count_) {
          if (current_ == nullptr) {
            current_ = d_->input_->MakeIterator();
            produced_ = false;
          }
          RETURN_IF_ERROR(current_->GetNext(out, end));
          if (!*end) {
            produced_ = true;
            return absl::OkStatus();
          }
          current_.reset();
          ++pass_;
          if (!produced_) break;
        }
        *end = true;
        return absl::OkStatus();
      }

     private:
      const RepeatDataset* d_;
      std::unique_ptr<DatasetIterator> current_;
      int64_t pass_ = 0;
      bool produced_ = false;
    };
    return std::make_unique<It>(this);
  }

 private:
  const DatasetPtr input_;
  const int64_t count_;
};

// TakeDataset (the first `count`, all for -1) and SkipDataset (all but the
// first `count`, nothing for -1).
class TakeSkipDataset : public Dataset {
 public:
  TakeSkipDataset(DatasetPtr input, int64_t count, bool take)
      : input_(std::move(input)), count_(count), take_(take) {}

  std::unique_ptr<DatasetIterator> MakeIterator() const override {
    class It : public DatasetIterator {
     public:
      It(const TakeSkipDataset* d, std::unique_ptr<DatasetIterator> input)
          : d_(d), input_(std::move(input)) {}
      absl::Status GetNext(Element* out, bool* end) override {
        if (d_->take_) {
          if (d_->count_ >= 0 && seen_ >= d_->count_) {
            *end = true;
            return absl::OkStatus();
          }
          ++seen_;
          return input_->GetNext(out, end);
        }
        while (d_->count_ < 0 || seen_ < d_->count_) {
          RETURN_IF_ERROR(input_->GetNext(out, end));
          if (*end) return absl::OkStatus();
          ++seen_;
        }
        return input_->GetNext(out, end);
      }

     private:
      const TakeSkipDataset* d_;
      std::unique_ptr<DatasetIterator> input_;
      int64_t seen_ = 0;
    };
    return std::make_unique<It>(this, input_->MakeIterator());
  }

 private:
  const DatasetPtr input_;
  const int64_t count_;
  const bool take_;
};

// The next batch's elements: up to `size` of them from `input`; *end when
// there are none, or fewer than `size` and `drop_remainder`. `check` sees
// each element as it comes.
absl::Status NextRows(
    DatasetIterator* input, int64_t size, bool drop_remainder,
    std::vector<Element>* rows, bool* end,
    const std::function<absl::Status(const Element&)>& check = nullptr) {
  rows->clear();
  Element row;
  bool input_end = false;
  while (static_cast<int64_t>(rows->size()) < size) {
    RETURN_IF_ERROR(input->GetNext(&row, &input_end));
    if (input_end) break;
    if (check) RETURN_IF_ERROR(check(row));
    rows->push_back(std::move(row));
  }
  *end = rows->empty() ||
         (drop_remainder && static_cast<int64_t>(rows->size()) < size);
  return absl::OkStatus();
}

// BatchDatasetV2: `size` consecutive elements stacked per component; the
// last, smaller batch is kept unless drop_remainder.
class BatchDataset : public Dataset {
 public:
  BatchDataset(DatasetPtr input, int64_t size, bool drop_remainder)
      : input_(std::move(input)), size_(size), drop_(drop_remainder) {}

  std::unique_ptr<DatasetIterator> MakeIterator() const override {
    class It : public DatasetIterator {
     public:
      It(const BatchDataset* d, std::unique_ptr<DatasetIterator> input)
          : d_(d), input_(std::move(input)) {}
      absl::Status GetNext(Element* out, bool* end) override {
        std::vector<Element> rows;
        RETURN_IF_ERROR(
            NextRows(input_.get(), d_->size_, d_->drop_, &rows, end));
        if (*end) return absl::OkStatus();
        return Stack(rows, out);
      }

     private:
      static absl::Status Stack(const std::vector<Element>& rows,
                                Element* out) {
        out->clear();
        for (size_t c = 0; c < rows[0].size(); ++c) {
          const Tensor& first = rows[0][c];
          std::vector<int64_t> dims = {static_cast<int64_t>(rows.size())};
          for (int k = 0; k < first.dims(); ++k) {
            dims.push_back(first.dim_size(k));
          }
          ASSIGN_OR_RETURN(TensorShape shape, TensorShape::Create(dims));
          ASSIGN_OR_RETURN(Tensor batch,
                           Tensor::CreateUninitialized(first.dtype(), shape));
          for (size_t r = 0; r < rows.size(); ++r) {
            const Tensor& t = rows[r][c];
            if (t.shape() != first.shape() || t.dtype() != first.dtype()) {
              return absl::InvalidArgumentError(absl::StrCat(
                  "cannot batch tensors of different shapes in component ", c,
                  ": the first element had shape ", first.shape().DebugString(),
                  " and element ", r, " had shape ", t.shape().DebugString()));
            }
            ASSIGN_OR_RETURN(Tensor dst, batch.Slice(r, r + 1));
            CopyElements(t, &dst);
          }
          out->push_back(std::move(batch));
        }
        return absl::OkStatus();
      }

      const BatchDataset* d_;
      std::unique_ptr<DatasetIterator> input_;
    };
    return std::make_unique<It>(this, input_->MakeIterator());
  }

 private:
  const DatasetPtr input_;
  const int64_t size_;
  const bool drop_;
};

// The (seed, seed2) each new walk of a ShuffleDataset starts from:
// TensorFlow's seed generators. With reshuffle_each_iteration, two words
// of a Philox stream seeded by the op's seeds per walk; without, the seeds
// themselves. Both zero: fresh random seeds.
class SeedGenerator {
 public:
  SeedGenerator(int64_t seed, int64_t seed2, bool reshuffle)
      : reshuffle_(reshuffle),
        seed_(seed),
        seed2_(seed2),
        words_(Philox(seed, seed2)) {}
  std::pair<int64_t, int64_t> Next() {
    absl::MutexLock lock(&mu_);
    if (!reshuffle_) return {seed_, seed2_};
    const int64_t a = words_.Next32();
    return {a, static_cast<int64_t>(words_.Next32())};
  }

 private:
  absl::Mutex mu_;
  const bool reshuffle_;
  const int64_t seed_, seed2_;
  WordStream words_ ABSL_GUARDED_BY(mu_);
};

// ShuffleDataset: a buffer of up to buffer_size elements, filled from the
// input; each element given is drawn uniformly from the buffer (a word of
// the walk's Philox stream modulo the buffer's fill) and its place taken by
// the buffer's oldest element, as TensorFlow's shuffle does.
class ShuffleDataset : public Dataset {
 public:
  ShuffleDataset(DatasetPtr input, int64_t buffer_size,
                 std::shared_ptr<SeedGenerator> seeds)
      : input_(std::move(input)),
        buffer_size_(buffer_size),
        seeds_(std::move(seeds)) {}

  std::unique_ptr<DatasetIterator> MakeIterator() const override {
    class It : public DatasetIterator {
     public:
      It(const ShuffleDataset* d, std::pair<int64_t, int64_t> seeds)
          : d_(d),
            input_(d->input_->MakeIterator()),
            words_(Philox(seeds.first, seeds.second)),
            buffer_(d->buffer_size_) {}
      absl::Status GetNext(Element* out, bool* end) override {
        // Fill: append at the ring's end until full or the input ends.
        while (input_ != nullptr && count_ < d_->buffer_size_) {
          Element e;
          bool input_end = false;
          RETURN_IF_ERROR(input_->GetNext(&e, &input_end));
          if (input_end) {
            input_.reset();
            break;
          }
          buffer_[(start_ + count_) % d_->buffer_size_] = std::move(e);
          ++count_;
        }
        *end = count_ == 0;
        if (*end) return absl::OkStatus();
        const int64_t offset = words_.Next32() % count_;
        const int64_t index = (start_ + offset) % d_->buffer_size_;
        *out = std::move(buffer_[index]);
        std::swap(buffer_[index], buffer_[start_ % d_->buffer_size_]);
        ++start_;
        --count_;
        return absl::OkStatus();
      }

     private:
      const ShuffleDataset* d_;
      std::unique_ptr<DatasetIterator> input_;
      WordStream words_;
      std::vector<Element> buffer_;
      int64_t start_ = 0;  // Ring position of the oldest element.
      int64_t count_ = 0;
    };
    return std::make_unique<It>(this, seeds_->Next());
  }

 private:
  const DatasetPtr input_;
  const int64_t buffer_size_;
  const std::shared_ptr<SeedGenerator> seeds_;
};

// ---------------------------------------------------------------------------
// Zipping, unbatching, padded batches, caching.

// ZipDataset: an element of each input, components side by side, until one
// input ends.
class ZipDataset : public Dataset {
 public:
  explicit ZipDataset(std::vector<DatasetPtr> inputs)
      : inputs_(std::move(inputs)) {}

  std::unique_ptr<DatasetIterator> MakeIterator() const override {
    class It : public DatasetIterator {
     public:
      explicit It(const ZipDataset* d) {
        for (const DatasetPtr& in : d->inputs_) {
          inputs_.push_back(in->MakeIterator());
        }
      }
      absl::Status GetNext(Element* out, bool* end) override {
        out->clear();
        for (auto& in : inputs_) {
          Element part;
          RETURN_IF_ERROR(in->GetNext(&part, end));
          if (*end) return absl::OkStatus();
          out->insert(out->end(), part.begin(), part.end());
        }
        return absl::OkStatus();
      }

     private:
      std::vector<std::unique_ptr<DatasetIterator>> inputs_;
    };
    return std::make_unique<It>(this);
  }

 private:
  const std::vector<DatasetPtr> inputs_;
};

class ZipDatasetOp : public OpKernel {
 public:
  using OpKernel::OpKernel;
  absl::Status Compute(OpKernelContext* ctx) const override {
    std::vector<DatasetPtr> inputs;
    for (int i = 0; i < ctx->num_inputs(); ++i) {
      ASSIGN_OR_RETURN(DatasetPtr d, DatasetInput(ctx, i));
      inputs.push_back(std::move(d));
    }
    SetDatasetOutput(ctx, std::make_shared<ZipDataset>(std::move(inputs)));
    return absl::OkStatus();
  }
  bool IsExpensive() const override { return false; }
};

// UnbatchDataset: the rows of each input element (every component has the
// same first dimension).
class UnbatchDataset : public Dataset {
 public:
  explicit UnbatchDataset(DatasetPtr input) : input_(std::move(input)) {}

  std::unique_ptr<DatasetIterator> MakeIterator() const override {
    class It : public DatasetIterator {
     public:
      explicit It(std::unique_ptr<DatasetIterator> input)
          : input_(std::move(input)) {}
      absl::Status GetNext(Element* out, bool* end) override {
        while (row_ >= rows_) {
          RETURN_IF_ERROR(input_->GetNext(&batch_, end));
          if (*end) return absl::OkStatus();
          row_ = 0;
          rows_ = -1;
          for (size_t c = 0; c < batch_.size(); ++c) {
            const Tensor& t = batch_[c];
            if (t.dims() < 1 || (rows_ >= 0 && t.dim_size(0) != rows_)) {
              return absl::InvalidArgumentError(absl::StrCat(
                  "unbatch: component ", c, " of shape ",
                  t.shape().DebugString(),
                  " does not have the first dimension of the others (", rows_,
                  ")"));
            }
            rows_ = t.dim_size(0);
          }
        }
        out->clear();
        for (const Tensor& t : batch_) {
          ASSIGN_OR_RETURN(Tensor r, Row(t, row_));
          out->push_back(std::move(r));
        }
        ++row_;
        *end = false;
        return absl::OkStatus();
      }

     private:
      std::unique_ptr<DatasetIterator> input_;
      Element batch_;
      int64_t row_ = 0, rows_ = 0;
    };
    return std::make_unique<It>(input_->MakeIterator());
  }

 private:
  const DatasetPtr input_;
};

// Copies `src` into the corner of `dst` (same rank, each dimension at
// least src's), element by element.
template <typename T>
void CopyIntoCorner(const Tensor& src, Tensor* dst) {
  const int rank = src.dims();
  auto from = src.flat<T>();
  auto to = dst->flat<T>();
  if (rank == 0) {
    to[0] = from[0];
    return;
  }
  const int64_t inner = src.dim_size(rank - 1);
  if (inner == 0) return;
  // Strides of dst, in elements.
  std::vector<int64_t> stride(rank, 1);
  for (int d = rank - 2; d >= 0; --d) {
    stride[d] = stride[d + 1] * dst->dim_size(d + 1);
  }
  std::vector<int64_t> idx(rank, 0);
  for (int64_t start = 0; start < static_cast<int64_t>(from.size());
       start += inner) {
    int64_t at = 0;
    for (int d = 0; d < rank - 1; ++d) at += idx[d] * stride[d];
    std::copy(from.begin() + start, from.begin() + start + inner,
              to.begin() + at);
    for (int d = rank - 2; d >= 0; --d) {
      if (++idx[d] < src.dim_size(d)) break;
      idx[d] = 0;
    }
  }
}

// PaddedBatchDatasetV2: batch_size elements per batch, each component
// padded with its padding value to its padded shape (-1: the batch's
// largest).
class PaddedBatchDataset : public Dataset {
 public:
  PaddedBatchDataset(DatasetPtr input, int64_t size, bool drop_remainder,
                     std::vector<std::vector<int64_t>> shapes, Element padding)
      : input_(std::move(input)),
        size_(size),
        drop_(drop_remainder),
        shapes_(std::move(shapes)),
        padding_(std::move(padding)) {}

  std::unique_ptr<DatasetIterator> MakeIterator() const override {
    class It : public DatasetIterator {
     public:
      It(const PaddedBatchDataset* d, std::unique_ptr<DatasetIterator> input)
          : d_(d), input_(std::move(input)) {}
      absl::Status GetNext(Element* out, bool* end) override {
        std::vector<Element> rows;
        RETURN_IF_ERROR(NextRows(
            input_.get(), d_->size_, d_->drop_, &rows, end,
            [this](const Element& row) -> absl::Status {
              if (row.size() != d_->shapes_.size()) {
                return absl::InvalidArgumentError(absl::StrCat(
                    "padded_batch: elements have ", row.size(),
                    " components, padded_shapes names ", d_->shapes_.size()));
              }
              return absl::OkStatus();
            }));
        if (*end) return absl::OkStatus();
        out->clear();
        for (size_t c = 0; c < d_->shapes_.size(); ++c) {
          ASSIGN_OR_RETURN(Tensor batch, Pad(rows, c));
          out->push_back(std::move(batch));
        }
        return absl::OkStatus();
      }

     private:
      absl::StatusOr<Tensor> Pad(const std::vector<Element>& rows,
                                 size_t c) const {
        const std::vector<int64_t>& want = d_->shapes_[c];
        const Tensor& pad = d_->padding_[c];
        std::vector<int64_t> dims = want;
        for (size_t r = 0; r < rows.size(); ++r) {
          const Tensor& t = rows[r][c];
          if (t.dims() != static_cast<int>(want.size()) ||
              t.dtype() != pad.dtype()) {
            return absl::InvalidArgumentError(absl::StrCat(
                "padded_batch: component ", c, " of element ", r, " is ",
                DataTypeName(t.dtype()), " ", t.shape().DebugString(),
                "; its padded shape has rank ", want.size(),
                " and its padding value is ", DataTypeName(pad.dtype())));
          }
          for (size_t k = 0; k < want.size(); ++k) {
            if (want[k] >= 0 && t.dim_size(k) > want[k]) {
              return absl::InvalidArgumentError(
                  absl::StrCat("padded_batch: component ", c, " of element ", r,
                               " has shape ", t.shape().DebugString(),
                               ", larger than its padded shape in dimension ",
                               k, " (", want[k], ")"));
            }
            if (want[k] < 0) dims[k] = std::max(dims[k], t.dim_size(k));
          }
        }
        for (int64_t& k : dims) k = std::max<int64_t>(k, 0);
        ASSIGN_OR_RETURN(TensorShape row_shape, TensorShape::Create(dims));
        std::vector<int64_t> full = {static_cast<int64_t>(rows.size())};
        full.insert(full.end(), dims.begin(), dims.end());
        ASSIGN_OR_RETURN(TensorShape shape, TensorShape::Create(full));
        ASSIGN_OR_RETURN(Tensor batch,
                         Tensor::CreateUninitialized(pad.dtype(), shape));
        RETURN_IF_ERROR(VisitDataType(
            pad.dtype(),
            [&]<typename T>() -> absl::Status {
              std::fill(batch.flat<T>().begin(), batch.flat<T>().end(),
                        pad.flat<T>()[0]);
              for (size_t r = 0; r < rows.size(); ++r) {
                ASSIGN_OR_RETURN(Tensor dst, batch.Slice(r, r + 1));
                ASSIGN_OR_RETURN(dst, dst.Reshape(row_shape));
                CopyIntoCorner<T>(rows[r][c], &dst);
              }
              return absl::OkStatus();
            },
            [&]() -> absl::Status {
              return absl::InvalidArgumentError(
                  absl::StrCat("padded_batch cannot pad ",
                               DataTypeName(pad.dtype()), " components"));
            }));
        return batch;
      }

      const PaddedBatchDataset* d_;
      std::unique_ptr<DatasetIterator> input_;
    };
    return std::make_unique<It>(this, input_->MakeIterator());
  }

 private:
  const DatasetPtr input_;
  const int64_t size_;
  const bool drop_;
  const std::vector<std::vector<int64_t>> shapes_;
  const Element padding_;
};

class PaddedBatchDatasetOp : public OpKernel {
 public:
  explicit PaddedBatchDatasetOp(OpKernelConstruction* c) : OpKernel(c) {
    status_ = c->GetAttr("N", &n_);
  }
  absl::Status Compute(OpKernelContext* ctx) const override {
    RETURN_IF_ERROR(status_);
    ASSIGN_OR_RETURN(DatasetPtr input, DatasetInput(ctx, 0));
    ASSIGN_OR_RETURN(int64_t size, IntScalarInput(ctx, 1, "batch_size"));
    if (size <= 0) {
      return ctx->InvalidArgument(
          absl::StrCat("batch_size must be greater than zero, got ", size));
    }
    std::vector<std::vector<int64_t>> shapes;
    for (int64_t c = 0; c < n_; ++c) {
      const Tensor& t = ctx->input(2 + c);
      if (t.dims() != 1) {
        return ctx->InvalidArgument(absl::StrCat("padded_shapes[", c,
                                                 "] must be a vector, got ",
                                                 t.shape().DebugString()));
      }
      shapes.push_back(IntValues(t));
      for (int64_t d : shapes.back()) {
        if (d < -1) {
          return ctx->InvalidArgument(
              absl::StrCat("padded_shapes[", c, "] has a dimension of ", d));
        }
      }
    }
    Element padding;
    for (int64_t c = 0; c < n_; ++c) {
      const Tensor& t = ctx->input(2 + n_ + c);
      if (t.NumElements() != 1) {
        return ctx->InvalidArgument(absl::StrCat("padding_values[", c,
                                                 "] must be a scalar, got ",
                                                 t.shape().DebugString()));
      }
      padding.push_back(t);
    }
    const Tensor& drop = ctx->input(2 + 2 * n_);
    if (drop.dtype() != DT_BOOL || drop.dims() != 0) {
      return ctx->InvalidArgument("drop_remainder must be a bool scalar");
    }
    SetDatasetOutput(ctx, std::make_shared<PaddedBatchDataset>(
                              std::move(input), size, drop.scalar<bool>(),
                              std::move(shapes), std::move(padding)));
    return absl::OkStatus();
  }
  bool IsExpensive() const override { return false; }

 private:
  absl::Status status_;
  int64_t n_ = 0;
};

// CacheDataset without a filename: the first walk that reaches the end
// keeps the elements in memory, and later walks replay them.
class CacheDataset : public Dataset {
 public:
  explicit CacheDataset(DatasetPtr input) : input_(std::move(input)) {}

  std::unique_ptr<DatasetIterator> MakeIterator() const override {
    class It : public DatasetIterator {
     public:
      explicit It(const CacheDataset* d) : d_(d) {
        absl::MutexLock lock(&d->mu_);
        if (!d->complete_) input_ = d->input_->MakeIterator();
      }
      absl::Status GetNext(Element* out, bool* end) override {
        if (input_ == nullptr) {
          absl::MutexLock lock(&d_->mu_);
          *end = next_ >= d_->elements_.size();
          if (!*end) *out = d_->elements_[next_++];
          return absl::OkStatus();
        }
        RETURN_IF_ERROR(input_->GetNext(out, end));
        if (!*end) {
          seen_.push_back(*out);
          return absl::OkStatus();
        }
        absl::MutexLock lock(&d_->mu_);
        if (!d_->complete_) {
          d_->elements_ = std::move(seen_);
          d_->complete_ = true;
        }
        return absl::OkStatus();
      }

     private:
      const CacheDataset* d_;
      std::unique_ptr<DatasetIterator> input_;  // Null: replaying the cache.
      std::vector<Element> seen_;
      size_t next_ = 0;
    };
    return std::make_unique<It>(this);
  }

 private:
  const DatasetPtr input_;
  mutable absl::Mutex mu_;
  mutable bool complete_ ABSL_GUARDED_BY(mu_) = false;
  mutable std::vector<Element> elements_ ABSL_GUARDED_BY(mu_);
};

// The kernels of the datasets made from one input dataset.
class UnaryDatasetOp : public OpKernel {
 public:
  explicit UnaryDatasetOp(OpKernelConstruction* c) : OpKernel(c) {
    if (type_string() == "ShuffleDataset") {
      status_ = c->GetAttr("reshuffle_each_iteration", &reshuffle_);
    }
  }
  absl::Status Compute(OpKernelContext* ctx) const override {
    RETURN_IF_ERROR(status_);
    ASSIGN_OR_RETURN(DatasetPtr input, DatasetInput(ctx, 0));
    const std::string& op = type_string();
    if (op == "RepeatDataset" || op == "TakeDataset" || op == "SkipDataset") {
      ASSIGN_OR_RETURN(int64_t count, IntScalarInput(ctx, 1, "count"));
      if (op == "RepeatDataset") {
        SetDatasetOutput(ctx, std::make_shared<RepeatDataset>(input, count));
      } else {
        SetDatasetOutput(ctx, std::make_shared<TakeSkipDataset>(
                                  input, count, op == "TakeDataset"));
      }
      return absl::OkStatus();
    }
    if (op == "PrefetchDataset") {
      // Elements are made when asked for, not ahead on another thread: the
      // same elements in the same order.
      ASSIGN_OR_RETURN(int64_t size, IntScalarInput(ctx, 1, "buffer_size"));
      if (size < -1) {
        return ctx->InvalidArgument(absl::StrCat(
            "buffer_size must be >= 0 or -1 (AUTOTUNE), got ", size));
      }
      SetDatasetOutput(ctx, std::move(input));
      return absl::OkStatus();
    }
    if (op == "UnbatchDataset") {
      SetDatasetOutput(ctx, std::make_shared<UnbatchDataset>(std::move(input)));
      return absl::OkStatus();
    }
    if (op == "CacheDataset") {
      const Tensor& file = ctx->input(1);
      if (file.dtype() != DT_STRING || file.dims() != 0) {
        return ctx->InvalidArgument("filename must be a string scalar");
      }
      if (!file.scalar<std::string>().empty()) {
        return absl::UnimplementedError(absl::StrCat(
            "node '", name(), "': a dataset cache in files ('",
            file.scalar<std::string>(),
            "') is not supported; cache() without a filename keeps the "
            "elements in memory"));
      }
      SetDatasetOutput(ctx, std::make_shared<CacheDataset>(std::move(input)));
      return absl::OkStatus();
    }
    if (op == "BatchDatasetV2") {
      ASSIGN_OR_RETURN(int64_t size, IntScalarInput(ctx, 1, "batch_size"));
      const Tensor& drop = ctx->input(2);
      if (size <= 0) {
        return ctx->InvalidArgument(
            absl::StrCat("batch_size must be greater than zero, got ", size));
      }
      if (drop.dtype() != DT_BOOL || drop.dims() != 0) {
        return ctx->InvalidArgument("drop_remainder must be a bool scalar");
      }
      SetDatasetOutput(ctx, std::make_shared<BatchDataset>(
                                input, size, drop.scalar<bool>()));
      return absl::OkStatus();
    }
    // ShuffleDataset.
    ASSIGN_OR_RETURN(int64_t buffer_size,
                     IntScalarInput(ctx, 1, "buffer_size"));
    ASSIGN_OR_RETURN(int64_t seed, IntScalarInput(ctx, 2, "seed"));
    ASSIGN_OR_RETURN(int64_t seed2, IntScalarInput(ctx, 3, "seed2"));
    if (buffer_size <= 0) {
      return ctx->InvalidArgument(absl::StrCat(
          "buffer_size must be greater than zero, got ", buffer_size));
    }
    if (buffer_size > (int64_t{1} << 26)) {
      return absl::ResourceExhaustedError(
          absl::StrCat("node '", name(), "': a shuffle buffer of ", buffer_size,
                       " elements is more than this kernel holds (2^26)"));
    }
    std::shared_ptr<SeedGenerator> seeds;
    {
      // The node keeps one generator for the life of the session, so each
      // re-initialized iterator reshuffles, as in TensorFlow.
      absl::MutexLock lock(&mu_);
      if (seeds_ == nullptr) {
        if (seed == 0 && seed2 == 0) {
          std::random_device device;
          seed = (static_cast<int64_t>(device()) << 31) ^ device();
          seed2 = (static_cast<int64_t>(device()) << 31) ^ device();
        }
        seeds_ = std::make_shared<SeedGenerator>(seed, seed2, reshuffle_);
      }
      seeds = seeds_;
    }
    SetDatasetOutput(
        ctx, std::make_shared<ShuffleDataset>(input, buffer_size, seeds));
    return absl::OkStatus();
  }
  bool IsExpensive() const override { return false; }

 private:
  absl::Status status_;
  bool reshuffle_ = true;
  mutable absl::Mutex mu_;
  mutable std::shared_ptr<SeedGenerator> seeds_ ABSL_GUARDED_BY(mu_);
};

// ---------------------------------------------------------------------------
// Datasets that call a function of the graph's library: MapDataset and
// ParallelMapDatasetV2 (each element through it), FilterDataset (the
// elements for which it is true), FlatMapDataset and InterleaveDataset (it
// makes a dataset of each element). The function runs on the iterating
// thread (FunctionBody::CallInline), one element at a time: a parallel map
// gives its elements in order, as TensorFlow's deterministic one does.

// A function with the tensors it captured (passed after the element's
// components), and what it must return.
struct BoundFunction {
  std::shared_ptr<const FunctionBody> fn;
  Element captured;
  std::vector<DataType> types;  // Of a map's results.
  std::string node;

  absl::Status Error(absl::string_view message) const {
    return absl::InvalidArgumentError(
        absl::StrCat("node '", node, "': ", message));
  }

  absl::StatusOr<Element> Call(Element args) const {
    args.insert(args.end(), captured.begin(), captured.end());
    return fn->CallInline(std::move(args), 0);
  }

  // A map's results, checked against output_types.
  absl::StatusOr<Element> Map(Element args) const {
    ASSIGN_OR_RETURN(Element out, Call(std::move(args)));
    if (out.size() != types.size()) {
      return Error(absl::StrCat("the map function returned ", out.size(),
                                " values; output_types names ", types.size()));
    }
    for (size_t i = 0; i < out.size(); ++i) {
      if (out[i].dtype() != types[i]) {
        return Error(absl::StrCat("the map function's result ", i, " is ",
                                  DataTypeName(out[i].dtype()), ", not ",
                                  DataTypeName(types[i])));
      }
    }
    return out;
  }

  absl::StatusOr<bool> Predicate(Element args) const {
    ASSIGN_OR_RETURN(Element out, Call(std::move(args)));
    if (out.size() != 1 || out[0].dtype() != DT_BOOL ||
        out[0].NumElements() != 1) {
      return Error(
          "the filter predicate must return one bool scalar, got " +
          (out.empty() ? std::string("nothing") : out[0].DebugString()));
    }
    return out[0].flat<bool>()[0];
  }

  absl::StatusOr<DatasetPtr> MakeDataset(Element args) const {
    ASSIGN_OR_RETURN(Element out, Call(std::move(args)));
    DatasetPtr d;
    if (out.size() == 1 && out[0].dtype() == DT_VARIANT && out[0].dims() == 0) {
      d = out[0].scalar<Variant>().shared<Dataset>();
    }
    if (d == nullptr) {
      return Error("the function must return one dataset");
    }
    return d;
  }
};

// MapDataset (each element through the function) and FilterDataset (the
// elements for which it is true).
class MapOrFilterDataset : public Dataset {
 public:
  MapOrFilterDataset(DatasetPtr input, BoundFunction fn, bool filter)
      : input_(std::move(input)), fn_(std::move(fn)), filter_(filter) {}

  std::unique_ptr<DatasetIterator> MakeIterator() const override {
    class It : public DatasetIterator {
     public:
      It(const MapOrFilterDataset* d, std::unique_ptr<DatasetIterator> input)
          : d_(d), input_(std::move(input)) {}
      absl::Status GetNext(Element* out, bool* end) override {
        while (true) {
          Element element;
          RETURN_IF_ERROR(input_->GetNext(&element, end));
          if (*end) return absl::OkStatus();
          if (!d_->filter_) {
            ASSIGN_OR_RETURN(*out, d_->fn_.Map(std::move(element)));
            return absl::OkStatus();
          }
          ASSIGN_OR_RETURN(bool keep, d_->fn_.Predicate(element));
          if (keep) {
            *out = std::move(element);
            return absl::OkStatus();
          }
        }
      }

     private:
      const MapOrFilterDataset* d_;
      std::unique_ptr<DatasetIterator> input_;
    };
    return std::make_unique<It>(this, input_->MakeIterator());
  }

 private:
  const DatasetPtr input_;
  const BoundFunction fn_;
  const bool filter_;
};

// InterleaveDataset, and FlatMapDataset (one dataset at a time: a cycle of
// one with blocks without end). The cycle holds up to cycle_length walks of
// the datasets the function makes; block_length elements are taken from
// each in turn, and a walk that ends is replaced by one of the dataset of
// the next input element, in TensorFlow's order.
class InterleaveDataset : public Dataset {
 public:
  InterleaveDataset(DatasetPtr input, BoundFunction fn, int64_t cycle_length,
                    int64_t block_length)
      : input_(std::move(input)),
        fn_(std::move(fn)),
        cycle_length_(cycle_length),
        block_length_(block_length) {}

  std::unique_ptr<DatasetIterator> MakeIterator() const override {
    class It : public DatasetIterator {
     public:
      It(const InterleaveDataset* d, std::unique_ptr<DatasetIterator> input)
          : d_(d), input_(std::move(input)), cycle_(d->cycle_length_) {}
      absl::Status GetNext(Element* out, bool* end) override {
        while (input_ != nullptr || open_ > 0) {
          Walk& w = cycle_[index_];
          if (w.it != nullptr) {
            bool walk_end = false;
            RETURN_IF_ERROR(w.it->GetNext(out, &walk_end));
            if (!walk_end) {
              if (++block_ == d_->block_length_) Advance();
              *end = false;
              return absl::OkStatus();
            }
            w = Walk();
            --open_;
            Advance();
          } else if (input_ != nullptr) {
            Element args;
            bool input_end = false;
            RETURN_IF_ERROR(input_->GetNext(&args, &input_end));
            if (input_end) {
              input_.reset();
              continue;
            }
            ASSIGN_OR_RETURN(w.dataset, d_->fn_.MakeDataset(std::move(args)));
            w.it = w.dataset->MakeIterator();
            ++open_;
          } else {
            Advance();
          }
        }
        *end = true;
        return absl::OkStatus();
      }

     private:
      struct Walk {
        DatasetPtr dataset;  // Outlives its walk.
        std::unique_ptr<DatasetIterator> it;
      };
      void Advance() {
        block_ = 0;
        index_ = (index_ + 1) % d_->cycle_length_;
      }

      const InterleaveDataset* d_;
      std::unique_ptr<DatasetIterator> input_;  // Null once it ended.
      std::vector<Walk> cycle_;
      int64_t index_ = 0;
      int64_t block_ = 0;
      int64_t open_ = 0;
    };
    return std::make_unique<It>(this, input_->MakeIterator());
  }

 private:
  const DatasetPtr input_;
  const BoundFunction fn_;
  const int64_t cycle_length_, block_length_;
};

class FunctionDatasetOp : public OpKernel {
 public:
  explicit FunctionDatasetOp(OpKernelConstruction* c) : OpKernel(c) {
    const std::string& op = type_string();
    // The inputs after other_arguments.
    trailing_ = op == "ParallelMapDatasetV2" ? 1
                : op == "InterleaveDataset"  ? 2
                                             : 0;
    fn_.node = name();
    status_ = c->GetAttr("output_types", &fn_.types);
    if (!status_.ok()) return;
    absl::StatusOr<std::unique_ptr<FunctionBody>> fn =
        FunctionBody::ForAttr(c, op == "FilterDataset" ? "predicate" : "f");
    if (fn.ok()) {
      fn_.fn = *std::move(fn);
    } else {
      status_ = fn.status();
    }
  }
  absl::Status Compute(OpKernelContext* ctx) const override {
    RETURN_IF_ERROR(status_);
    ASSIGN_OR_RETURN(DatasetPtr input, DatasetInput(ctx, 0));
    BoundFunction fn = fn_;
    const int last = ctx->num_inputs() - trailing_;
    for (int i = 1; i < last; ++i) fn.captured.push_back(ctx->input(i));
    const std::string& op = type_string();
    if (op == "MapDataset" || op == "ParallelMapDatasetV2") {
      if (trailing_ == 1) {
        ASSIGN_OR_RETURN(int64_t calls,
                         IntScalarInput(ctx, last, "num_parallel_calls"));
        if (calls <= 0 && calls != -1) {
          return ctx->InvalidArgument(absl::StrCat(
              "num_parallel_calls must be positive or -1 (AUTOTUNE), got ",
              calls));
        }
      }
      SetDatasetOutput(ctx, std::make_shared<MapOrFilterDataset>(
                                std::move(input), std::move(fn), false));
    } else if (op == "FilterDataset") {
      SetDatasetOutput(ctx, std::make_shared<MapOrFilterDataset>(
                                std::move(input), std::move(fn), true));
    } else if (op == "FlatMapDataset") {
      SetDatasetOutput(ctx, std::make_shared<InterleaveDataset>(
                                std::move(input), std::move(fn), 1,
                                std::numeric_limits<int64_t>::max()));
    } else {
      ASSIGN_OR_RETURN(int64_t cycle,
                       IntScalarInput(ctx, last, "cycle_length"));
      ASSIGN_OR_RETURN(int64_t block,
                       IntScalarInput(ctx, last + 1, "block_length"));
      // AUTOTUNE: the machine's cores, as TensorFlow's.
      if (cycle == -1) {
        cycle = std::max<int64_t>(1, std::thread::hardware_concurrency());
      }
      if (cycle <= 0 || block <= 0) {
        return ctx->InvalidArgument(absl::StrCat("cycle_length (", cycle,
                                                 ") and block_length (", block,
                                                 ") must be positive"));
      }
      if (cycle > (int64_t{1} << 20)) {
        return ctx->InvalidArgument(absl::StrCat(
            "cycle_length ", cycle, " is more than this kernel holds (2^20)"));
      }
      SetDatasetOutput(ctx, std::make_shared<InterleaveDataset>(
                                std::move(input), std::move(fn), cycle, block));
    }
    return absl::OkStatus();
  }
  bool IsExpensive() const override { return false; }

 private:
  absl::Status status_;
  int trailing_ = 0;
  BoundFunction fn_;
};

// ---------------------------------------------------------------------------
// Iterators.

class IteratorResource : public NamedResource {
 public:
  IteratorResource(const std::string& container, const std::string& name,
                   std::vector<DataType> types)
      : NamedResource("iterator", container, name), types_(std::move(types)) {}

  const std::vector<DataType>& types() const { return types_; }

  // A fresh walk of `dataset`, which the resource keeps alive (iterators
  // refer to their datasets, and a dataset to its inputs).
  void Reset(DatasetPtr dataset) {
    std::unique_ptr<DatasetIterator> it = dataset->MakeIterator();
    absl::MutexLock lock(&mu_);
    it_ = std::move(it);
    dataset_ = std::move(dataset);
  }

  // Makes the dataset with `make` and installs a walk of it, unless the
  // iterator has one already (OneShotIterator: made once, on first use).
  absl::Status InitializeOnce(
      const std::function<absl::StatusOr<DatasetPtr>()>& make) {
    absl::MutexLock lock(&mu_);
    if (it_ != nullptr) return absl::OkStatus();
    ASSIGN_OR_RETURN(DatasetPtr dataset, make());
    it_ = dataset->MakeIterator();
    dataset_ = std::move(dataset);
    return absl::OkStatus();
  }

  absl::Status GetNext(Element* out, bool* end) {
    absl::MutexLock lock(&mu_);
    if (it_ == nullptr) {
      return absl::FailedPreconditionError(absl::StrCat(
          "iterator '", name(),
          "' has not been initialized: run its initializer (MakeIterator) "
          "before getting elements"));
    }
    return it_->GetNext(out, end);
  }

 private:
  const std::vector<DataType> types_;
  absl::Mutex mu_;
  std::unique_ptr<DatasetIterator> it_ ABSL_GUARDED_BY(mu_);
  DatasetPtr dataset_ ABSL_GUARDED_BY(mu_);
};

class IteratorOp : public HandleOpBase {
 public:
  explicit IteratorOp(OpKernelConstruction* c) : HandleOpBase(c) {
    status_.Update(c->GetAttr("output_types", &types_));
  }
  absl::Status Compute(OpKernelContext* ctx) const override {
    RETURN_IF_ERROR(status_);
    ASSIGN_OR_RETURN(std::shared_ptr<IteratorResource> it,
                     ctx->resources()->LookupOrCreate<IteratorResource>(
                         container_, shared_name_, [&] {
                           return std::make_shared<IteratorResource>(
                               container_, shared_name_, types_);
                         }));
    if (it->types() != types_) {
      return ctx->InvalidArgument(
          absl::StrCat("iterator '", shared_name_,
                       "' already exists with other output_types"));
    }
    SetHandle(ctx, it.get());
    return absl::OkStatus();
  }

 private:
  std::vector<DataType> types_;
};

// OneShotIterator: an iterator over the dataset its dataset_factory
// function makes when the op first runs; later runs give the same one.
class OneShotIteratorOp : public HandleOpBase {
 public:
  explicit OneShotIteratorOp(OpKernelConstruction* c) : HandleOpBase(c) {
    status_.Update(c->GetAttr("output_types", &types_));
    if (!status_.ok()) return;
    absl::StatusOr<std::unique_ptr<FunctionBody>> fn =
        FunctionBody::ForAttr(c, "dataset_factory");
    if (fn.ok()) {
      factory_.fn = *std::move(fn);
      factory_.node = name();
    } else {
      status_ = fn.status();
    }
  }
  absl::Status Compute(OpKernelContext* ctx) const override {
    RETURN_IF_ERROR(status_);
    ASSIGN_OR_RETURN(std::shared_ptr<IteratorResource> it,
                     ctx->resources()->LookupOrCreate<IteratorResource>(
                         container_, shared_name_, [&] {
                           return std::make_shared<IteratorResource>(
                               container_, shared_name_, types_);
                         }));
    RETURN_IF_ERROR(
        it->InitializeOnce([&] { return factory_.MakeDataset({}); }));
    SetHandle(ctx, it.get());
    return absl::OkStatus();
  }

 private:
  std::vector<DataType> types_;
  BoundFunction factory_;
};

class MakeIteratorOp : public OpKernel {
 public:
  using OpKernel::OpKernel;
  absl::Status Compute(OpKernelContext* ctx) const override {
    ASSIGN_OR_RETURN(DatasetPtr dataset, DatasetInput(ctx, 0));
    ASSIGN_OR_RETURN(std::shared_ptr<IteratorResource> it,
                     LookupHandle<IteratorResource>(ctx, 1));
    it->Reset(std::move(dataset));
    return absl::OkStatus();
  }
};

class IteratorGetNextOp : public OpKernel {
 public:
  using OpKernel::OpKernel;
  absl::Status Compute(OpKernelContext* ctx) const override {
    ASSIGN_OR_RETURN(std::shared_ptr<IteratorResource> it,
                     LookupHandle<IteratorResource>(ctx, 0));
    Element element;
    bool end = false;
    absl::Status s = it->GetNext(&element, &end);
    if (!s.ok()) {
      return absl::Status(s.code(),
                          absl::StrCat("node '", name(), "': ", s.message()));
    }
    if (end) return absl::OutOfRangeError("End of sequence");
    if (static_cast<int>(element.size()) != num_outputs()) {
      return ctx->InvalidArgument(
          absl::StrCat("the dataset's elements have ", element.size(),
                       " components; output_types names ", num_outputs()));
    }
    for (int i = 0; i < num_outputs(); ++i) {
      if (element[i].dtype() != output_type(i)) {
        return ctx->InvalidArgument(
            absl::StrCat("component ", i, " of the element is ",
                         DataTypeName(element[i].dtype()), ", not ",
                         DataTypeName(output_type(i))));
      }
      ctx->set_output(i, std::move(element[i]));
    }
    return absl::OkStatus();
  }
};

// A string handle is a serialized ResourceHandleProto, as TensorFlow's.
class IteratorToStringHandleOp : public OpKernel {
 public:
  using OpKernel::OpKernel;
  absl::Status Compute(OpKernelContext* ctx) const override {
    ASSIGN_OR_RETURN(std::shared_ptr<IteratorResource> it,
                     LookupHandle<IteratorResource>(ctx, 0));
    Tensor handle;
    {
      absl::MutexLock lock(it->handle_mu());
      handle = *it->handle();
    }
    ::tensorflow::ResourceHandleProto proto;
    proto.set_device(ctx->device_name());
    proto.set_container(handle.flat<std::string>()[0]);
    proto.set_name(handle.flat<std::string>()[1]);
    proto.set_maybe_type_name("rill::IteratorResource");
    ctx->set_output(0, Tensor::Scalar<std::string>(proto.SerializeAsString()));
    return absl::OkStatus();
  }
};

class IteratorFromStringHandleOp : public HandleOpBase {
 public:
  explicit IteratorFromStringHandleOp(OpKernelConstruction* c)
      : HandleOpBase(c) {}
  absl::Status Compute(OpKernelContext* ctx) const override {
    const Tensor& t = ctx->input(0);
    ::tensorflow::ResourceHandleProto proto;
    if (t.dtype() != DT_STRING || t.dims() != 0 ||
        !proto.ParseFromString(t.scalar<std::string>())) {
      return ctx->InvalidArgument(
          "string_handle is not an iterator's string handle");
    }
    absl::StatusOr<std::shared_ptr<IteratorResource>> it =
        ctx->resources()->Lookup<IteratorResource>(proto.container(),
                                                   proto.name());
    if (!it.ok()) {
      return ctx->InvalidArgument(
          absl::StrCat("string_handle names no iterator on this device: ",
                       it.status().message()));
    }
    SetHandle(ctx, it->get());
    return absl::OkStatus();
  }
};

[[maybe_unused]] const bool kRegistered = [] {
  RegisterKernel<TensorsDatasetOp>(KernelDef("TensorSliceDataset", kDeviceCpu));
  RegisterKernel<TensorsDatasetOp>(KernelDef("TensorDataset", kDeviceCpu));
  RegisterKernel<RangeDatasetOp>(KernelDef("RangeDataset", kDeviceCpu));
  for (const char* op : {"MapDataset", "ParallelMapDatasetV2", "FilterDataset",
                         "FlatMapDataset", "InterleaveDataset"}) {
    RegisterKernel<FunctionDatasetOp>(KernelDef(op, kDeviceCpu));
  }
  RegisterKernel<ZipDatasetOp>(KernelDef("ZipDataset", kDeviceCpu));
  RegisterKernel<PaddedBatchDatasetOp>(
      KernelDef("PaddedBatchDatasetV2", kDeviceCpu));
  RegisterKernel<OneShotIteratorOp>(KernelDef("OneShotIterator", kDeviceCpu));
  for (const char* op : {"RepeatDataset", "TakeDataset", "SkipDataset",
                         "BatchDatasetV2", "ShuffleDataset", "PrefetchDataset",
                         "UnbatchDataset", "CacheDataset"}) {
    RegisterKernel<UnaryDatasetOp>(KernelDef(op, kDeviceCpu));
  }
  RegisterKernel<IteratorOp>(KernelDef("IteratorV2", kDeviceCpu));
  RegisterKernel<MakeIteratorOp>(KernelDef("MakeIterator", kDeviceCpu));
  RegisterKernel<IteratorGetNextOp>(KernelDef("IteratorGetNext", kDeviceCpu));
  RegisterKernel<IteratorToStringHandleOp>(
      KernelDef("IteratorToStringHandle", kDeviceCpu));
  RegisterKernel<IteratorFromStringHandleOp>(
      KernelDef("IteratorFromStringHandleV2", kDeviceCpu));
  return true;
}();

}  // namespace
}  // namespace rill

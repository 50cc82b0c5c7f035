// tf.data's datasets and iterators (core/ops/dataset_ops.cc) on the CPU.
//
// A dataset op's result is an immutable Dataset value in a variant scalar;
// a dataset made from another holds it. MakeIterator installs a fresh walk
// of a dataset in an iterator resource (a handle resource, like a queue);
// IteratorGetNext takes the next element under the iterator's lock and
// answers OUT_OF_RANGE "End of sequence" after the last, as TensorFlow.
// ShuffleDataset draws from TensorFlow's Philox stream the way TensorFlow's
// does, so a seeded shuffle gives TensorFlow's order.
#include <deque>
#include <memory>
#include <random>
#include <string>
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
        Element row;
        bool input_end = false;
        while (static_cast<int64_t>(rows.size()) < d_->size_) {
          RETURN_IF_ERROR(input_->GetNext(&row, &input_end));
          if (input_end) break;
          rows.push_back(std::move(row));
        }
        *end = rows.empty() ||
               (d_->drop_ && static_cast<int64_t>(rows.size()) < d_->size_);
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

// MapDataset: each input element through the function (called on the
// iterating thread, with the captured arguments after the components).
class MapDataset : public Dataset {
 public:
  MapDataset(DatasetPtr input, Element captured,
             std::shared_ptr<const FunctionBody> fn,
             std::vector<DataType> types, std::string node)
      : input_(std::move(input)),
        captured_(std::move(captured)),
        fn_(std::move(fn)),
        types_(std::move(types)),
        node_(std::move(node)) {}

  std::unique_ptr<DatasetIterator> MakeIterator() const override {
    class It : public DatasetIterator {
     public:
      It(const MapDataset* d, std::unique_ptr<DatasetIterator> input)
          : d_(d), input_(std::move(input)) {}
      absl::Status GetNext(Element* out, bool* end) override {
        Element args;
        RETURN_IF_ERROR(input_->GetNext(&args, end));
        if (*end) return absl::OkStatus();
        args.insert(args.end(), d_->captured_.begin(), d_->captured_.end());
        ASSIGN_OR_RETURN(*out, d_->fn_->CallInline(std::move(args), 0));
        if (out->size() != d_->types_.size()) {
          return absl::InvalidArgumentError(absl::StrCat(
              "node '", d_->node_, "': the map function returned ", out->size(),
              " values; output_types names ", d_->types_.size()));
        }
        for (size_t i = 0; i < out->size(); ++i) {
          if ((*out)[i].dtype() != d_->types_[i]) {
            return absl::InvalidArgumentError(absl::StrCat(
                "node '", d_->node_, "': the map function's result ", i, " is ",
                DataTypeName((*out)[i].dtype()), ", not ",
                DataTypeName(d_->types_[i])));
          }
        }
        return absl::OkStatus();
      }

     private:
      const MapDataset* d_;
      std::unique_ptr<DatasetIterator> input_;
    };
    return std::make_unique<It>(this, input_->MakeIterator());
  }

 private:
  const DatasetPtr input_;
  const Element captured_;
  const std::shared_ptr<const FunctionBody> fn_;
  const std::vector<DataType> types_;
  const std::string node_;
};

class MapDatasetOp : public OpKernel {
 public:
  explicit MapDatasetOp(OpKernelConstruction* c) : OpKernel(c) {
    status_ = c->GetAttr("output_types", &types_);
    if (!status_.ok()) return;
    absl::StatusOr<std::unique_ptr<FunctionBody>> fn =
        FunctionBody::ForAttr(c, "f");
    if (fn.ok()) {
      fn_ = *std::move(fn);
    } else {
      status_ = fn.status();
    }
  }
  absl::Status Compute(OpKernelContext* ctx) const override {
    RETURN_IF_ERROR(status_);
    ASSIGN_OR_RETURN(DatasetPtr input, DatasetInput(ctx, 0));
    Element captured;
    for (int i = 1; i < ctx->num_inputs(); ++i) {
      captured.push_back(ctx->input(i));
    }
    SetDatasetOutput(
        ctx, std::make_shared<MapDataset>(std::move(input), std::move(captured),
                                          fn_, types_, name()));
    return absl::OkStatus();
  }
  bool IsExpensive() const override { return false; }

 private:
  absl::Status status_;
  std::vector<DataType> types_;
  std::shared_ptr<const FunctionBody> fn_;
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
  RegisterKernel<MapDatasetOp>(KernelDef("MapDataset", kDeviceCpu));
  for (const char* op : {"RepeatDataset", "TakeDataset", "SkipDataset",
                         "BatchDatasetV2", "ShuffleDataset"}) {
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

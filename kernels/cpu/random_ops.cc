// Random kernels, with TensorFlow's Philox streams (kernels/cpu/philox.h):
// a seeded op gives TensorFlow's numbers.
//
// Stateful ops: each node owns a generator seeded from its (seed, seed2)
// attrs (both zero: a fresh nondeterministic seed); a step takes the
// generator's position and moves it past what the step may use, so
// successive steps give TensorFlow's successive values.
//
// Stateless ops: the values are a function of the shape and the seed (or
// the key and counter StatelessRandomGetKeyCounter derives from it).
//
// Candidate samplers are stateful random ops too, drawing words one at a
// time as TensorFlow's SimplePhilox does.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "core/framework/kernel_registry.h"
#include "core/platform/status_macros.h"
#include "kernels/cpu/int_values.h"
#include "kernels/cpu/philox.h"

namespace rill {
namespace {

// Which distribution a kernel draws from.
enum class Dist { kUniform, kNormal, kTruncatedNormal };

Dist DistOf(absl::string_view op) {
  if (absl::StrContains(op, "Truncated")) return Dist::kTruncatedNormal;
  if (absl::StrContains(op, "Normal")) return Dist::kNormal;
  return Dist::kUniform;
}

template <typename T>
void Fill(Dist dist, const Philox& gen, Tensor* out) {
  T* data = out->flat<T>().data();
  const int64_t n = out->NumElements();
  switch (dist) {
    case Dist::kUniform:
      return FillUniform(gen, data, n);
    case Dist::kNormal:
      return FillNormal(gen, data, n);
    case Dist::kTruncatedNormal:
      return FillTruncatedNormal(gen, data, n);
  }
}

absl::StatusOr<Tensor*> AllocateShaped(OpKernelContext* ctx) {
  absl::StatusOr<TensorShape> shape =
      TensorShape::Create(IntValues(ctx->input(0)));
  if (!shape.ok()) return ctx->InvalidArgument(shape.status().message());
  return ctx->allocate_output_for_overwrite(0, *shape);
}

// [lo, hi) from inputs `lo_index` and `lo_index + 1`, as (lo, hi - lo).
template <typename T>
absl::StatusOr<std::pair<T, T>> IntRange(OpKernelContext* ctx, int lo_index) {
  for (int i : {lo_index, lo_index + 1}) {
    if (ctx->input(i).NumElements() != 1) {
      return ctx->InvalidArgument(absl::StrCat(
          i == lo_index ? "minval" : "maxval", " must be a scalar, got shape ",
          ctx->input(i).shape().DebugString()));
    }
  }
  const T lo = ctx->input(lo_index).flat<T>()[0];
  const T hi = ctx->input(lo_index + 1).flat<T>()[0];
  if (lo >= hi) {
    return ctx->InvalidArgument(
        absl::StrCat("need minval < maxval, got ", lo, " >= ", hi));
  }
  using U = std::make_unsigned_t<T>;
  return std::make_pair(
      lo, static_cast<T>(static_cast<U>(hi) - static_cast<U>(lo)));
}

// A stateful op's generator.
class StatefulRandom : public OpKernel {
 public:
  explicit StatefulRandom(OpKernelConstruction* c) : OpKernel(c), gen_(0, 0) {
    int64_t seed = 0, seed2 = 0;
    status_.Update(c->GetAttr("seed", &seed));
    status_.Update(c->GetAttr("seed2", &seed2));
    if (seed == 0 && seed2 == 0) {
      std::random_device device;
      auto draw = [&] {
        return (static_cast<uint64_t>(device()) << 32) ^ device();
      };
      seed = draw();
      seed2 = draw();
    }
    gen_ = Philox(seed, seed2);
  }

 protected:
  // The generator for a step that makes `n` values.
  Philox Reserve(int64_t n) const { return ReserveBlocks(BlocksReserved(n)); }
  // The generator for a step that may use up to `blocks` blocks.
  Philox ReserveBlocks(uint64_t blocks) const {
    absl::MutexLock lock(&mu_);
    const Philox out = gen_;
    gen_.Skip(blocks);
    return out;
  }

  absl::Status status_;

 private:
  mutable absl::Mutex mu_;
  mutable Philox gen_ ABSL_GUARDED_BY(mu_);
};

// RandomUniform, RandomStandardNormal, TruncatedNormal.
template <typename T>
class RandomOp : public StatefulRandom {
 public:
  using StatefulRandom::StatefulRandom;
  absl::Status Compute(OpKernelContext* ctx) const override {
    RETURN_IF_ERROR(status_);
    ASSIGN_OR_RETURN(Tensor * out, AllocateShaped(ctx));
    Fill<T>(DistOf(type_string()), Reserve(out->NumElements()), out);
    return absl::OkStatus();
  }
};

template <typename T>
class RandomUniformIntOp : public StatefulRandom {
 public:
  using StatefulRandom::StatefulRandom;
  absl::Status Compute(OpKernelContext* ctx) const override {
    RETURN_IF_ERROR(status_);
    ASSIGN_OR_RETURN(auto range, IntRange<T>(ctx, 1));
    ASSIGN_OR_RETURN(Tensor * out, AllocateShaped(ctx));
    const int64_t n = out->NumElements();
    FillUniformInt(Reserve(n), range.first, range.second, out->flat<T>().data(),
                   n);
    return absl::OkStatus();
  }
};

// The two seeds of a stateless op's "seed" input (int32 or int64, [2]).
absl::StatusOr<Philox> SeedInput(OpKernelContext* ctx, int index) {
  const Tensor& seed = ctx->input(index);
  if (seed.shape().dims() != 1 || seed.NumElements() != 2) {
    return ctx->InvalidArgument(absl::StrCat("seed must have shape [2], got ",
                                             seed.shape().DebugString()));
  }
  const std::vector<int64_t> seeds = IntValues(seed);
  return StatelessPhilox(seeds[0], seeds[1]);
}

// The generator a V2 stateless op's key, counter and alg inputs (1, 2, 3)
// name.
absl::StatusOr<Philox> KeyCounterInputs(OpKernelContext* ctx) {
  const Tensor& key = ctx->input(1);
  const Tensor& counter = ctx->input(2);
  const Tensor& alg = ctx->input(3);
  if (alg.NumElements() != 1) {
    return ctx->InvalidArgument(absl::StrCat("alg must be a scalar, got shape ",
                                             alg.shape().DebugString()));
  }
  // 1 is Philox; 3 lets the kernel choose, and Philox is what TensorFlow's
  // CPU kernels choose.
  const int32_t which = alg.flat<int32_t>()[0];
  if (which != 1 && which != 3) {
    return absl::UnimplementedError(
        absl::StrCat("node ", ctx->kernel().name(), ": random algorithm ",
                     which, which == 2 ? " (ThreeFry)" : "",
                     " is not supported; Philox (1) and auto-select (3) are"));
  }
  if (key.NumElements() != 1 || counter.NumElements() < 2) {
    return ctx->InvalidArgument(absl::StrCat(
        "Philox needs a key of 1 element and a counter of 2, got shapes ",
        key.shape().DebugString(), " and ", counter.shape().DebugString()));
  }
  const uint64_t k = key.flat<uint64_t>()[0];
  const uint64_t c0 = counter.flat<uint64_t>()[0];
  const uint64_t c1 = counter.flat<uint64_t>()[1];
  return Philox({static_cast<uint32_t>(c0), static_cast<uint32_t>(c0 >> 32),
                 static_cast<uint32_t>(c1), static_cast<uint32_t>(c1 >> 32)},
                {static_cast<uint32_t>(k), static_cast<uint32_t>(k >> 32)});
}

absl::StatusOr<Philox> StatelessGenerator(OpKernelContext* ctx) {
  return absl::StrContains(ctx->kernel().type_string(), "V2")
             ? KeyCounterInputs(ctx)
             : SeedInput(ctx, 1);
}

// StatelessRandomUniform/Normal, StatelessTruncatedNormal, and their V2.
template <typename T>
class StatelessRandomOp : public OpKernel {
 public:
  using OpKernel::OpKernel;
  absl::Status Compute(OpKernelContext* ctx) const override {
    ASSIGN_OR_RETURN(const Philox gen, StatelessGenerator(ctx));
    ASSIGN_OR_RETURN(Tensor * out, AllocateShaped(ctx));
    Fill<T>(DistOf(type_string()), gen, out);
    return absl::OkStatus();
  }
};

// StatelessRandomUniformInt (minval, maxval at 2, 3) and its V2 (at 4, 5).
template <typename T>
class StatelessRandomUniformIntOp : public OpKernel {
 public:
  using OpKernel::OpKernel;
  absl::Status Compute(OpKernelContext* ctx) const override {
    const bool v2 = absl::StrContains(type_string(), "V2");
    ASSIGN_OR_RETURN(auto range, IntRange<T>(ctx, v2 ? 4 : 2));
    ASSIGN_OR_RETURN(const Philox gen, StatelessGenerator(ctx));
    ASSIGN_OR_RETURN(Tensor * out, AllocateShaped(ctx));
    FillUniformInt(gen, range.first, range.second, out->flat<T>().data(),
                   out->NumElements());
    return absl::OkStatus();
  }
};

// The key and counter a seed names: key [1], counter [2], as uint64.
absl::Status WriteKeyCounter(OpKernelContext* ctx, const Philox& gen) {
  ASSIGN_OR_RETURN(Tensor * key, ctx->allocate_output(0, TensorShape({1})));
  ASSIGN_OR_RETURN(Tensor * counter, ctx->allocate_output(1, TensorShape({2})));
  const Philox::Key& k = gen.key();
  const Philox::Block& c = gen.counter();
  key->flat<uint64_t>()[0] = k[0] | (uint64_t{k[1]} << 32);
  counter->flat<uint64_t>()[0] = c[0] | (uint64_t{c[1]} << 32);
  counter->flat<uint64_t>()[1] = c[2] | (uint64_t{c[3]} << 32);
  return absl::OkStatus();
}

absl::Status WriteAlg(OpKernelContext* ctx, int index) {
  ASSIGN_OR_RETURN(Tensor * alg, ctx->allocate_output(index, TensorShape()));
  alg->flat<int32_t>()[0] = 1;  // Philox.
  return absl::OkStatus();
}

class StatelessRandomGetKeyCounterOp : public OpKernel {
 public:
  using OpKernel::OpKernel;
  absl::Status Compute(OpKernelContext* ctx) const override {
    ASSIGN_OR_RETURN(const Philox gen, SeedInput(ctx, 0));
    RETURN_IF_ERROR(WriteKeyCounter(ctx, gen));
    if (type_string() == "StatelessRandomGetKeyCounterAlg") {
      RETURN_IF_ERROR(WriteAlg(ctx, 2));
    }
    return absl::OkStatus();
  }
};

class StatelessRandomGetAlgOp : public OpKernel {
 public:
  using OpKernel::OpKernel;
  absl::Status Compute(OpKernelContext* ctx) const override {
    return WriteAlg(ctx, 0);
  }
};

// UniformCandidateSampler, LogUniformCandidateSampler (Zipfian: class k
// with probability log((k + 2) / (k + 1)) / log(range + 1)) and
// AllCandidateSampler (classes 0..num_sampled-1, each expected once). With
// unique, classes already drawn are redrawn, and the expected counts
// account for the number of draws it took.
class CandidateSamplerOp : public StatefulRandom {
 public:
  enum class Kind { kUniform, kLogUniform, kAll };
  CandidateSamplerOp(OpKernelConstruction* c, Kind kind)
      : StatefulRandom(c), kind_(kind) {
    status_.Update(c->GetAttr("num_true", &num_true_));
    status_.Update(c->GetAttr("num_sampled", &num_sampled_));
    status_.Update(c->GetAttr("unique", &unique_));
    if (kind_ == Kind::kAll) {
      range_ = num_sampled_;
    } else {
      status_.Update(c->GetAttr("range_max", &range_));
    }
    if (status_.ok() && unique_ && num_sampled_ > range_) {
      status_ = absl::InvalidArgumentError(absl::StrCat(
          "node '", name(), "': num_sampled ", num_sampled_,
          " unique classes cannot be drawn from range_max ", range_));
    }
  }

  absl::Status Compute(OpKernelContext* ctx) const override {
    RETURN_IF_ERROR(status_);
    const Tensor& classes = ctx->input(0);
    if (classes.dims() != 2 || classes.dim_size(1) != num_true_) {
      return ctx->InvalidArgument(absl::StrCat(
          "true_classes must be a matrix of num_true = ", num_true_,
          " columns, got ", classes.shape().DebugString()));
    }
    for (int64_t c : classes.flat<int64_t>()) {
      if (c < 0 || c >= range_) {
        return ctx->InvalidArgument(absl::StrCat(
            "true class ", c, " is out of range [0, ", range_, ")"));
      }
    }
    ASSIGN_OR_RETURN(Tensor * sampled,
                     ctx->allocate_output(0, TensorShape({num_sampled_})));
    ASSIGN_OR_RETURN(Tensor * true_count,
                     ctx->allocate_output(1, classes.shape()));
    ASSIGN_OR_RETURN(Tensor * sampled_count,
                     ctx->allocate_output(2, TensorShape({num_sampled_})));
    auto out = sampled->flat<int64_t>();
    if (kind_ == Kind::kAll) {
      for (int64_t i = 0; i < num_sampled_; ++i) out[i] = i;
      std::fill(true_count->flat<float>().begin(),
                true_count->flat<float>().end(), 1.0f);
      std::fill(sampled_count->flat<float>().begin(),
                sampled_count->flat<float>().end(), 1.0f);
      return absl::OkStatus();
    }
    // TensorFlow reserves 2048 words per sample: the stream of the next
    // step starts past them.
    WordStream words(ReserveBlocks(static_cast<uint64_t>(num_sampled_) * 512));
    int64_t tries = 0;
    if (unique_) {
      absl::flat_hash_set<int64_t> seen;
      for (int64_t picked = 0; picked < num_sampled_;) {
        ++tries;
        const int64_t v = Sample(&words);
        if (seen.insert(v).second) out[picked++] = v;
      }
    } else {
      for (int64_t i = 0; i < num_sampled_; ++i) out[i] = Sample(&words);
      tries = num_sampled_;
    }
    auto expected = [&](int64_t v) {
      const float p = Probability(v);
      if (tries == num_sampled_) return p * static_cast<float>(num_sampled_);
      // 1 - (1 - p)^tries, without the cancellation.
      return -std::expm1(static_cast<float>(tries) * std::log1p(-p));
    };
    for (int64_t i = 0; i < num_sampled_; ++i) {
      sampled_count->flat<float>()[i] = expected(out[i]);
    }
    auto true_classes = classes.flat<int64_t>();
    for (int64_t i = 0; i < classes.NumElements(); ++i) {
      true_count->flat<float>()[i] = expected(true_classes[i]);
    }
    return absl::OkStatus();
  }

 private:
  int64_t Sample(WordStream* words) const {
    if (kind_ == Kind::kUniform) {
      return static_cast<int64_t>(words->Uniform64(range_));
    }
    const int64_t v =
        static_cast<int64_t>(std::exp(words->NextDouble() * LogRange())) - 1;
    return v % range_;
  }
  float Probability(int64_t v) const {
    if (kind_ == Kind::kUniform) return static_cast<float>(1.0 / range_);
    return static_cast<float>(std::log((v + 2.0) / (v + 1.0)) / LogRange());
  }
  double LogRange() const { return std::log1p(static_cast<double>(range_)); }

  const Kind kind_;
  int64_t num_true_ = 1, num_sampled_ = 1, range_ = 1;
  bool unique_ = false;
};

template <CandidateSamplerOp::Kind kKind>
class SamplerOf : public CandidateSamplerOp {
 public:
  explicit SamplerOf(OpKernelConstruction* c) : CandidateSamplerOp(c, kKind) {}
};

// ComputeAccidentalHits: for each true class (row by row) that is also a
// sampled candidate, the row, the candidate's position (the last one when
// sampled twice) and the weight -FLT_MAX that removes it from the logits.
class ComputeAccidentalHitsOp : public OpKernel {
 public:
  explicit ComputeAccidentalHitsOp(OpKernelConstruction* c) : OpKernel(c) {
    status_ = c->GetAttr("num_true", &num_true_);
  }
  absl::Status Compute(OpKernelContext* ctx) const override {
    RETURN_IF_ERROR(status_);
    const Tensor& classes = ctx->input(0);
    const Tensor& sampled = ctx->input(1);
    if (classes.dims() != 2 || classes.dim_size(1) != num_true_) {
      return ctx->InvalidArgument(absl::StrCat(
          "true_classes must be a matrix of num_true = ", num_true_,
          " columns, got ", classes.shape().DebugString()));
    }
    if (sampled.dims() != 1) {
      return ctx->InvalidArgument(
          absl::StrCat("sampled_candidates must be a vector, got ",
                       sampled.shape().DebugString()));
    }
    absl::flat_hash_map<int64_t, int64_t> position;
    for (int64_t i = 0; i < sampled.NumElements(); ++i) {
      position[sampled.flat<int64_t>()[i]] = i;
    }
    std::vector<int32_t> rows;
    std::vector<int64_t> ids;
    auto true_classes = classes.flat<int64_t>();
    for (int64_t i = 0; i < classes.NumElements(); ++i) {
      auto hit = position.find(true_classes[i]);
      if (hit == position.end()) continue;
      rows.push_back(static_cast<int32_t>(i / num_true_));
      ids.push_back(hit->second);
    }
    const int64_t n = static_cast<int64_t>(rows.size());
    ASSIGN_OR_RETURN(Tensor * indices,
                     ctx->allocate_output(0, TensorShape({n})));
    ASSIGN_OR_RETURN(Tensor * id_out,
                     ctx->allocate_output(1, TensorShape({n})));
    ASSIGN_OR_RETURN(Tensor * weights,
                     ctx->allocate_output(2, TensorShape({n})));
    std::copy(rows.begin(), rows.end(), indices->flat<int32_t>().begin());
    std::copy(ids.begin(), ids.end(), id_out->flat<int64_t>().begin());
    std::fill(weights->flat<float>().begin(), weights->flat<float>().end(),
              -std::numeric_limits<float>::max());
    return absl::OkStatus();
  }

 private:
  absl::Status status_;
  int64_t num_true_ = 1;
};

[[maybe_unused]] const bool kRegistered = [] {
  for (const char* op :
       {"RandomUniform", "RandomStandardNormal", "TruncatedNormal"}) {
    RegisterKernelForTypes<RandomOp, float, double>(KernelDef(op, kDeviceCpu),
                                                    "dtype");
  }
  RegisterKernelForTypes<RandomUniformIntOp, int32_t, int64_t>(
      KernelDef("RandomUniformInt", kDeviceCpu), "Tout");
  for (const char* op :
       {"StatelessRandomUniform", "StatelessRandomNormal",
        "StatelessTruncatedNormal", "StatelessRandomUniformV2",
        "StatelessRandomNormalV2", "StatelessTruncatedNormalV2"}) {
    RegisterKernelForTypes<StatelessRandomOp, float, double>(
        KernelDef(op, kDeviceCpu), "dtype");
  }
  RegisterKernelForTypes<StatelessRandomUniformIntOp, int32_t, int64_t>(
      KernelDef("StatelessRandomUniformInt", kDeviceCpu), "dtype");
  RegisterKernelForTypes<StatelessRandomUniformIntOp, int32_t, int64_t,
                         uint32_t, uint64_t>(
      KernelDef("StatelessRandomUniformIntV2", kDeviceCpu), "dtype");
  for (const char* op :
       {"StatelessRandomGetKeyCounter", "StatelessRandomGetKeyCounterAlg"}) {
    RegisterKernel<StatelessRandomGetKeyCounterOp>(KernelDef(op, kDeviceCpu));
  }
  RegisterKernel<StatelessRandomGetAlgOp>(
      KernelDef("StatelessRandomGetAlg", kDeviceCpu));
  using Kind = CandidateSamplerOp::Kind;
  RegisterKernel<SamplerOf<Kind::kUniform>>(
      KernelDef("UniformCandidateSampler", kDeviceCpu));
  RegisterKernel<SamplerOf<Kind::kLogUniform>>(
      KernelDef("LogUniformCandidateSampler", kDeviceCpu));
  RegisterKernel<SamplerOf<Kind::kAll>>(
      KernelDef("AllCandidateSampler", kDeviceCpu));
  RegisterKernel<ComputeAccidentalHitsOp>(
      KernelDef("ComputeAccidentalHits", kDeviceCpu));
  return true;
}();

}  // namespace
}  // namespace rill

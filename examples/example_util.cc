#include "examples/example_util.h"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <numeric>

#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_cat.h"
#include "core/platform/status_macros.h"

namespace rill::examples {

Tensor Rows(const Tensor& t, const std::vector<int64_t>& order, int64_t begin,
            int64_t end) {
  std::vector<int64_t> dims(t.shape().dim_sizes().begin(),
                            t.shape().dim_sizes().end());
  const int64_t row_elems = dims[0] == 0 ? 0 : t.NumElements() / dims[0];
  dims[0] = end - begin;
  Tensor out = *Tensor::Create(t.dtype(), *TensorShape::Create(dims));
  const size_t row_bytes = row_elems * DataTypeSize(t.dtype());
  const char* src = static_cast<const char*>(t.raw_data());
  char* dst = static_cast<char*>(out.raw_data());
  for (int64_t i = begin; i < end; ++i) {
    std::memcpy(dst + (i - begin) * row_bytes, src + order[i] * row_bytes,
                row_bytes);
  }
  return out;
}

std::vector<int64_t> Shuffled(int64_t n, std::mt19937_64* rng) {
  std::vector<int64_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::shuffle(order.begin(), order.end(), *rng);
  return order;
}

absl::StatusOr<int64_t> StartOrResume(SessionInterface* session, Saver* saver,
                                      const std::string& dir, bool resume,
                                      const std::string& init,
                                      const std::string& global_step) {
  if (!dir.empty()) {
    std::error_code error;
    std::filesystem::create_directories(dir, error);
    if (error) {
      return absl::InvalidArgumentError(absl::StrCat(
          "cannot create checkpoint directory ", dir, ": ", error.message()));
    }
  }
  if (resume && !dir.empty()) {
    // The newest checkpoint that restores; older ones when newer ones are
    // damaged or gone; an error when there are checkpoints and none
    // restores. Only an empty directory starts fresh.
    ASSIGN_OR_RETURN(std::string restored,
                     RestoreNewestIntact(
                         dir,
                         [&](const std::string& path) {
                           return saver->Restore(session, path);
                         },
                         [](const std::string& path, const absl::Status& why) {
                           std::printf(
                               "checkpoint %s does not restore (%s); trying an "
                               "older one\n",
                               path.c_str(),
                               std::string(why.message()).c_str());
                         }));
    if (!restored.empty()) {
      ASSIGN_OR_RETURN(std::vector<Tensor> step,
                       session->Run({}, {global_step}, {}));
      const int64_t at = step[0].scalar<int64_t>();
      std::printf("resumed from %s at step %lld\n", restored.c_str(),
                  static_cast<long long>(at));
      return at;
    }
    std::printf("no checkpoint in %s yet: starting fresh\n", dir.c_str());
  }
  RETURN_IF_ERROR(session->Run({}, {}, {init}).status());
  return 0;
}

absl::Status RunEpochs(const EpochLoop& loop) {
  if (loop.examples <= 0 || loop.batch <= 0) {
    return absl::InvalidArgumentError("the batch size must be positive");
  }
  ASSIGN_OR_RETURN(int64_t done,
                   StartOrResume(loop.session, loop.saver, loop.checkpoint_dir,
                                 loop.resume, "init", "global_step"));
  const int64_t steps_per_epoch = (loop.examples + loop.batch - 1) / loop.batch;
  for (int epoch = static_cast<int>(done / steps_per_epoch);
       epoch < loop.epochs; ++epoch) {
    std::mt19937_64 shuffle(loop.seed * 1000 + epoch);
    const std::vector<int64_t> order = Shuffled(loop.examples, &shuffle);
    for (int64_t s = 0; s < steps_per_epoch; ++s) {
      const int64_t lo = s * loop.batch;
      RETURN_IF_ERROR(loop.step(epoch, order, lo,
                                std::min(lo + loop.batch, loop.examples)));
    }
    ASSIGN_OR_RETURN(int64_t step, loop.end_of_epoch(epoch));
    std::fflush(stdout);
    if (!loop.checkpoint_dir.empty()) {
      RETURN_IF_ERROR(
          loop.saver->Save(loop.session, loop.checkpoint_dir + "/model", step)
              .status());
    }
  }
  return absl::OkStatus();
}

int ExampleMain(int argc, char** argv, const char* name, const char* usage,
                absl::Status (*run)()) {
  absl::SetProgramUsageMessage(usage);
  absl::ParseCommandLine(argc, argv);
  absl::Status s = run();
  if (!s.ok()) {
    std::fprintf(stderr, "%s: %s\n", name, s.ToString().c_str());
    return 1;
  }
  return 0;
}

float ScalarOf(const Tensor& t) {
  if (t.dtype() == DT_INT32) return static_cast<float>(t.scalar<int32_t>());
  if (t.dtype() == DT_DOUBLE) return static_cast<float>(t.scalar<double>());
  return t.scalar<float>();
}

}  // namespace rill::examples

// What the training examples share: mini-batches from in-memory datasets,
// starting fresh or resuming from the latest checkpoint, and saving one
// checkpoint per epoch.
#ifndef RILL_EXAMPLES_EXAMPLE_UTIL_H_
#define RILL_EXAMPLES_EXAMPLE_UTIL_H_

#include <cstdint>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "core/framework/tensor.h"
#include "runtime/session/session.h"
#include "runtime/training/saver.h"

namespace rill::examples {

// Rows order[begin, end) of t (any rank >= 1), copied into a new tensor.
Tensor Rows(const Tensor& t, const std::vector<int64_t>& order, int64_t begin,
            int64_t end);

// 0, 1, ..., n-1 shuffled by rng.
std::vector<int64_t> Shuffled(int64_t n, std::mt19937_64* rng);

// Creates `dir` when missing, then runs `init` or, when `resume` and `dir`
// holds a checkpoint, restores the latest one instead. Returns the global
// step reached (0 when fresh).
absl::StatusOr<int64_t> StartOrResume(SessionInterface* session, Saver* saver,
                                      const std::string& dir, bool resume,
                                      const std::string& init,
                                      const std::string& global_step);

// The epoch loop every example runs: start fresh or resume (which fixes
// the first epoch), shuffle the n examples with a seed per epoch, call
// `step` for each mini-batch order[lo, hi), then `end_of_epoch` (which
// prints the progress line and returns the global step), then save a
// checkpoint when `checkpoint_dir` is set. Epochs count from 0.
struct EpochLoop {
  SessionInterface* session = nullptr;
  Saver* saver = nullptr;
  std::string checkpoint_dir;
  bool resume = false;
  int epochs = 1;
  int64_t examples = 0;
  int64_t batch = 1;
  uint64_t seed = 1;
  std::function<absl::Status(int epoch, const std::vector<int64_t>& order,
                             int64_t lo, int64_t hi)>
      step;
  std::function<absl::StatusOr<int64_t>(int epoch)> end_of_epoch;
};
absl::Status RunEpochs(const EpochLoop& loop);

// main() of an example: parses flags, runs `run`, and turns an error into
// one line "<name>: <status>" on stderr and exit status 1.
int ExampleMain(int argc, char** argv, const char* name, const char* usage,
                absl::Status (*run)());

// One float or int32 scalar fetched from a step.
float ScalarOf(const Tensor& t);

}  // namespace rill::examples

#endif  // RILL_EXAMPLES_EXAMPLE_UTIL_H_

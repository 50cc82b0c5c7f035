// What the training examples share: mini-batches from in-memory datasets,
// starting fresh or resuming from the latest checkpoint, and saving one
// checkpoint per epoch.
#ifndef RILL_EXAMPLES_EXAMPLE_UTIL_H_
#define RILL_EXAMPLES_EXAMPLE_UTIL_H_

#include <cstdint>
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
absl::StatusOr<int64_t> StartOrResume(Session* session, Saver* saver,
                                      const std::string& dir, bool resume,
                                      const std::string& init,
                                      const std::string& global_step);

// Saves "<dir>/model-<step>" when dir is set.
absl::Status SaveEpoch(Session* session, Saver* saver, const std::string& dir,
                       int64_t step);

// One float or int32 scalar fetched from a step.
float ScalarOf(const Tensor& t);

}  // namespace rill::examples

#endif  // RILL_EXAMPLES_EXAMPLE_UTIL_H_

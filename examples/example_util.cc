#include "examples/example_util.h"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <numeric>

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

absl::StatusOr<int64_t> StartOrResume(Session* session, Saver* saver,
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
    absl::StatusOr<std::string> latest = LatestCheckpoint(dir);
    if (latest.ok()) {
      RETURN_IF_ERROR(saver->Restore(session, *latest));
      ASSIGN_OR_RETURN(std::vector<Tensor> step,
                       session->Run({}, {global_step}, {}));
      const int64_t at = step[0].scalar<int64_t>();
      std::printf("resumed from %s at step %lld\n", latest->c_str(),
                  static_cast<long long>(at));
      return at;
    }
    if (latest.status().code() != absl::StatusCode::kNotFound) {
      return latest.status();
    }
    std::printf("no checkpoint in %s yet: starting fresh\n", dir.c_str());
  }
  RETURN_IF_ERROR(session->Run({}, {}, {init}).status());
  return 0;
}

absl::Status SaveEpoch(Session* session, Saver* saver, const std::string& dir,
                       int64_t step) {
  if (dir.empty()) return absl::OkStatus();
  return saver->Save(session, dir + "/model", step).status();
}

float ScalarOf(const Tensor& t) {
  if (t.dtype() == DT_INT32) return static_cast<float>(t.scalar<int32_t>());
  if (t.dtype() == DT_DOUBLE) return static_cast<float>(t.scalar<double>());
  return t.scalar<float>();
}

}  // namespace rill::examples

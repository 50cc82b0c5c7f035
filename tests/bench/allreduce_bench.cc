// Allreduce through Rill's collective ops, on `rill server` workers given on
// the command line (tests/bench/allreduce_vs_tcp.py starts them):
//   allreduce_bench --master=grpc://localhost:P --workers=N --bytes=B
//                   --reps=R --steps=S [--hint=auto|ring]
// Each worker task holds a float variable of B bytes; a step runs a chain
// of R CollectiveReduceV2 (Add, then Div: the mean, so values stay bounded)
// on every worker, each reducing the previous one's result. Prints one JSON
// line: the median step time and the time per allreduce (step / R), which
// leaves the step's own overhead out as R grows.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "core/cc/ops.h"
#include "distributed/grpc_session.h"

ABSL_FLAG(std::string, master, "", "grpc://host:port of the master task");
ABSL_FLAG(int, workers, 2, "worker tasks /job:worker/task:0..N-1");
ABSL_FLAG(int64_t, bytes, 1 << 20, "bytes reduced by each allreduce");
ABSL_FLAG(int, reps, 1, "allreduces chained in one step");
ABSL_FLAG(int, steps, 10, "timed steps (after 2 warm-up steps)");
ABSL_FLAG(std::string, hint, "auto", "communication_hint: auto or ring");
ABSL_FLAG(int, group_key, 1, "collective group key");

namespace rill {
namespace {

int Main() {
  const int workers = absl::GetFlag(FLAGS_workers);
  const int64_t n = std::max<int64_t>(absl::GetFlag(FLAGS_bytes) / 4, 1);
  const int reps = absl::GetFlag(FLAGS_reps);
  Scope root = Scope::NewRootScope();
  std::vector<std::string> inits, targets;
  for (int w = 0; w < workers; ++w) {
    Scope s = root.NewSubScope(absl::StrCat("w", w))
                  .WithDevice(absl::StrCat("/job:worker/task:", w));
    // Named by size: a task's variables outlive the session.
    auto v = ops::VariableV2(s.WithOpName(absl::StrCat("v_", n)),
                             PartialTensorShape({n}), DT_FLOAT);
    auto init = ops::Assign(
        s.WithOpName("init"), v,
        ops::Fill(s, Tensor::FromVector<int64_t>({n}, TensorShape({1})),
                  static_cast<float>(w + 1)));
    Output x = v;
    for (int r = 0; r < reps; ++r) {
      x = ops::CollectiveReduceV2(s, x, workers, absl::GetFlag(FLAGS_group_key),
                                  r + 1, InputList(std::vector<Output>{}),
                                  "Add", "Div",
                                  ops::CollectiveReduceV2::CommunicationHint(
                                      absl::GetFlag(FLAGS_hint)));
    }
    auto done =
        ops::NoOp(s.WithOpName("done").WithControlDependencies({x.op()}));
    inits.push_back(init.node()->name());
    targets.push_back(done.operation.name());
  }
  ::tensorflow::GraphDef def;
  absl::Status s = root.ToGraphDef(&def);
  std::unique_ptr<GrpcSession> session;
  if (s.ok()) {
    auto created = GrpcSession::Create(absl::GetFlag(FLAGS_master), def);
    s = created.status();
    if (s.ok()) session = *std::move(created);
  }
  if (s.ok()) s = session->Run({}, {}, inits).status();
  std::vector<double> seconds;
  const int steps = absl::GetFlag(FLAGS_steps);
  for (int i = 0; s.ok() && i < steps + 2; ++i) {
    const auto start = std::chrono::steady_clock::now();
    s = session->Run({}, {}, targets).status();
    if (i >= 2) {
      seconds.push_back(std::chrono::duration<double>(
                            std::chrono::steady_clock::now() - start)
                            .count());
    }
  }
  if (!s.ok()) {
    std::fprintf(stderr, "allreduce_bench: %s\n", s.ToString().c_str());
    return 1;
  }
  (void)session->Close();
  std::sort(seconds.begin(), seconds.end());
  const double median = seconds[seconds.size() / 2];
  std::printf(
      "{\"bytes\": %lld, \"workers\": %d, \"reps\": %d, \"median_step_s\": "
      "%.6f, \"allreduce_s\": %.7f}\n",
      static_cast<long long>(n * 4), workers, reps, median, median / reps);
  return 0;
}

}  // namespace
}  // namespace rill

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  return rill::Main();
}

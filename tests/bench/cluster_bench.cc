// Benchmarks of the distributed runtime, against servers given on the
// command line (tests/bench/cluster_vs_tcp.py starts them as separate
// processes):
//   cluster_bench --master=grpc://localhost:P --bytes=N --steps=S
// runs a step that makes an N-byte float tensor on /job:a/task:0 and sums
// it on /job:b/task:0 (one RecvTensor of N bytes from a to b), and prints
// one JSON line: the median step time and the bytes/s it implies. With
// --bytes=0 the step is empty work on both tasks (a scalar crossing), for
// the latency of a two-task step. With --ping it times a GetStatus round
// trip instead: the floor gRPC itself sets for any RPC on this machine.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/match.h"
#include "core/cc/ops.h"
#include "distributed/grpc_session.h"
#include "distributed/protos/worker_service.grpc.pb.h"
#include "grpcpp/grpcpp.h"

ABSL_FLAG(std::string, master, "", "grpc://host:port of a task");
ABSL_FLAG(int64_t, bytes, 1 << 20, "tensor size; 0 for the empty step");
ABSL_FLAG(int, steps, 20, "timed steps (after 2 warm-up steps)");
ABSL_FLAG(bool, ping, false,
          "time a GetStatus round trip to the master's worker service "
          "instead (gRPC's own floor on this machine)");
ABSL_FLAG(bool, local, false,
          "run the same step in this process on one device (the compute "
          "alone, to subtract from the cluster's step)");

namespace rill {
namespace {

double Median(std::vector<double> seconds) {
  std::sort(seconds.begin(), seconds.end());
  return seconds[seconds.size() / 2];
}

int Ping() {
  std::string target = absl::GetFlag(FLAGS_master);
  if (absl::StartsWith(target, "grpc://")) target = target.substr(7);
  auto stub = ::tensorflow::WorkerService::NewStub(
      grpc::CreateChannel(target, grpc::InsecureChannelCredentials()));
  std::vector<double> seconds;
  const int steps = absl::GetFlag(FLAGS_steps);
  for (int i = 0; i < steps + 2; ++i) {
    grpc::ClientContext ctx;
    ::tensorflow::GetStatusRequest request;
    ::tensorflow::GetStatusResponse response;
    const auto start = std::chrono::steady_clock::now();
    grpc::Status s = stub->GetStatus(&ctx, request, &response);
    const double t =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
            .count();
    if (!s.ok()) {
      std::fprintf(stderr, "cluster_bench: %s\n", s.error_message().c_str());
      return 1;
    }
    if (i >= 2) seconds.push_back(t);
  }
  std::printf("{\"bytes\": 0, \"median_s\": %.6f, \"mb_per_s\": 0}\n",
              Median(seconds));
  return 0;
}

int Main() {
  if (absl::GetFlag(FLAGS_ping)) return Ping();
  const int64_t bytes = absl::GetFlag(FLAGS_bytes);
  const int64_t n = std::max<int64_t>(bytes / 4, 1);
  Scope root = Scope::NewRootScope();
  auto made =
      ops::Fill(root.WithDevice("/job:a/task:0"),
                ops::Const(root.WithDevice("/job:a/task:0"),
                           Tensor::FromVector<int64_t>({n}, TensorShape({1}))),
                1.0f);
  ops::Sum(root.WithOpName("total").WithDevice("/job:b/task:0"), made, {0});
  ::tensorflow::GraphDef def;
  if (!root.ToGraphDef(&def).ok()) return 1;
  if (absl::GetFlag(FLAGS_local)) {
    for (auto& node : *def.mutable_node()) node.clear_device();
  }
  auto session = NewSession(
      absl::GetFlag(FLAGS_local) ? "" : absl::GetFlag(FLAGS_master), def);
  if (!session.ok()) {
    std::fprintf(stderr, "cluster_bench: %s\n",
                 session.status().ToString().c_str());
    return 1;
  }
  std::vector<double> seconds;
  const int steps = absl::GetFlag(FLAGS_steps);
  for (int i = 0; i < steps + 2; ++i) {
    const auto start = std::chrono::steady_clock::now();
    auto out = (*session)->Run({}, {"total"}, {});
    const double s =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
            .count();
    if (!out.ok()) {
      std::fprintf(stderr, "cluster_bench: %s\n",
                   out.status().ToString().c_str());
      return 1;
    }
    if ((*out)[0].scalar<float>() != static_cast<float>(n) && n < (1 << 24)) {
      std::fprintf(stderr, "cluster_bench: wrong sum\n");
      return 1;
    }
    if (i >= 2) seconds.push_back(s);
  }
  const double median = Median(seconds);
  std::printf("{\"bytes\": %lld, \"median_s\": %.6f, \"mb_per_s\": %.1f}\n",
              static_cast<long long>(n * 4), median, n * 4 / median / 1e6);
  return 0;
}

}  // namespace
}  // namespace rill

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  return rill::Main();
}

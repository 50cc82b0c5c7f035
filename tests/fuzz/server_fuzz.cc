// Fuzz target: the requests a server takes, in sequence, on one task's
// master and worker (a RillServer made in-process, not listening: the
// methods the gRPC dispatcher calls, with requests parsed from untrusted
// bytes as the dispatcher parses them).
//
// Input: records of [method: 1 byte][length: 2 bytes, little-endian]
// [request bytes]. A request with no session or graph handle gets the
// last one this input made, so the fuzzer can create a session from a
// graph and then run it. Steps are bounded to 2 s and 256 MiB; whatever
// an input opened is closed at its end.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/framework/allocator.h"
#include "distributed/grpc_server.h"
#include "distributed/protos/master.pb.h"
#include "distributed/protos/worker.pb.h"

namespace tf = ::tensorflow;

namespace {

constexpr int64_t kStepMs = 2000;

rill::RillServer* Server() {
  static rill::RillServer* const server = [] {
    absl::StatusOr<rill::ClusterSpec> cluster =
        rill::ClusterSpec::FromJson(R"({"worker": ["localhost:1"]})");
    rill::ServerOptions options;
    options.num_threads = 2;
    options.master.max_sessions = 64;
    auto made = rill::RillServer::Create(*cluster, "worker", 0, options);
    if (!made.ok()) std::abort();
    return made->release();  // Lives as long as the process.
  }();
  return server;
}

template <typename Request>
bool Parse(const std::string& bytes, Request* request) {
  return request->ParseFromString(bytes);
}

struct Opened {
  std::vector<std::string> sessions, graphs;
  std::string session() const {
    return sessions.empty() ? std::string() : sessions.back();
  }
  std::string graph() const {
    return graphs.empty() ? std::string() : graphs.back();
  }
};

// A request naming no session gets the last one this input made.
template <typename Request>
void DefaultSession(const Opened& opened, Request* request) {
  if (request->session_handle().empty()) {
    request->set_session_handle(opened.session());
  }
}

void Call(int method, const std::string& bytes, Opened* opened) {
  rill::Master* master = Server()->master();
  rill::Worker* worker = Server()->worker();
  switch (method) {
    case 0: {
      tf::CreateSessionRequest request;
      if (!Parse(bytes, &request)) return;
      request.mutable_config()->set_operation_timeout_in_ms(kStepMs);
      tf::CreateSessionResponse response;
      if (master->CreateSession(request, &response).ok()) {
        opened->sessions.push_back(response.session_handle());
      }
      return;
    }
    case 1: {
      tf::ExtendSessionRequest request;
      if (!Parse(bytes, &request)) return;
      DefaultSession(*opened, &request);
      tf::ExtendSessionResponse response;
      (void)master->ExtendSession(request, &response);
      return;
    }
    case 2: {
      tf::RunStepRequest request;
      if (!Parse(bytes, &request)) return;
      DefaultSession(*opened, &request);
      request.mutable_options()->set_timeout_in_ms(kStepMs);
      tf::RunStepResponse response;
      (void)master->RunStep(request, &response);
      return;
    }
    case 3: {
      tf::CloseSessionRequest request;
      if (!Parse(bytes, &request)) return;
      (void)master->CloseSession(request);
      return;
    }
    case 4: {
      tf::ListDevicesRequest request;
      tf::ListDevicesResponse response;
      if (Parse(bytes, &request)) (void)master->ListDevices(request, &response);
      return;
    }
    case 5: {
      tf::ResetRequest request;
      if (Parse(bytes, &request)) (void)master->Reset(request);
      return;
    }
    case 6: {
      tf::MakeCallableRequest request;
      if (!Parse(bytes, &request)) return;
      DefaultSession(*opened, &request);
      request.mutable_options()->mutable_run_options()->set_timeout_in_ms(
          kStepMs);
      tf::MakeCallableResponse response;
      (void)master->MakeCallable(request, &response);
      return;
    }
    case 7: {
      tf::RunCallableRequest request;
      if (!Parse(bytes, &request)) return;
      DefaultSession(*opened, &request);
      tf::RunCallableResponse response;
      (void)master->RunCallable(request, &response);
      return;
    }
    case 8: {
      tf::ReleaseCallableRequest request;
      if (Parse(bytes, &request)) (void)master->ReleaseCallable(request);
      return;
    }
    case 9: {
      tf::GetStatusResponse response;
      worker->GetStatus(&response);
      return;
    }
    case 10: {
      tf::CreateWorkerSessionRequest request;
      if (Parse(bytes, &request)) (void)worker->CreateWorkerSession(request);
      return;
    }
    case 11: {
      tf::DeleteWorkerSessionRequest request;
      if (Parse(bytes, &request)) (void)worker->DeleteWorkerSession(request);
      return;
    }
    case 12: {
      tf::RegisterGraphRequest request;
      if (!Parse(bytes, &request)) return;
      tf::RegisterGraphResponse response;
      if (worker->RegisterGraph(request, &response).ok()) {
        opened->graphs.push_back(response.graph_handle());
      }
      return;
    }
    case 13: {
      tf::DeregisterGraphRequest request;
      if (!Parse(bytes, &request)) return;
      if (request.graph_handle().empty()) {
        request.set_graph_handle(opened->graph());
      }
      (void)worker->DeregisterGraph(request);
      return;
    }
    case 14: {
      tf::RunGraphRequest request;
      if (!Parse(bytes, &request)) return;
      if (request.graph_handle().empty()) {
        request.set_graph_handle(opened->graph());
      }
      tf::RunGraphResponse response;
      (void)worker->RunGraph(request, &response, kStepMs);
      (void)worker->CleanupGraph(request.step_id());
      return;
    }
    case 15: {
      tf::CleanupGraphRequest request;
      if (Parse(bytes, &request)) (void)worker->CleanupGraph(request.step_id());
      return;
    }
    case 16: {
      tf::CleanupAllRequest request;
      if (!Parse(bytes, &request)) return;
      (void)worker->CleanupAll(std::vector<std::string>(
          request.container().begin(), request.container().end()));
      return;
    }
    default:
      return;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  rill::CpuAllocator()->set_limit(int64_t{256} << 20);
  Opened opened;
  size_t at = 0;
  while (at + 3 <= size) {
    const int method = data[at] % 17;
    const size_t length = data[at + 1] | (size_t{data[at + 2]} << 8);
    at += 3;
    const size_t n = std::min(length, size - at);
    Call(method, std::string(reinterpret_cast<const char*>(data + at), n),
         &opened);
    at += n;
  }
  for (const std::string& handle : opened.sessions) {
    tf::CloseSessionRequest close;
    close.set_session_handle(handle);
    (void)Server()->master()->CloseSession(close);
  }
  for (const std::string& handle : opened.graphs) {
    tf::DeregisterGraphRequest request;
    request.set_graph_handle(handle);
    (void)Server()->worker()->DeregisterGraph(request);
  }
  return 0;
}

// raw_grpc_call HOST:PORT METHOD (garbage | zeros:N | empty)
// Sends one unary call with a request that no Rill client would send (the
// bytes of a truncated message, N zero bytes, or nothing), as a broken or
// hostile peer would, and prints the status it gets: "CODE: message".
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "absl/strings/numbers.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/grpcpp.h"

namespace {

const char* CodeName(grpc::StatusCode code) {
  switch (code) {
    case grpc::StatusCode::OK:
      return "OK";
    case grpc::StatusCode::INVALID_ARGUMENT:
      return "INVALID_ARGUMENT";
    case grpc::StatusCode::RESOURCE_EXHAUSTED:
      return "RESOURCE_EXHAUSTED";
    case grpc::StatusCode::UNAVAILABLE:
      return "UNAVAILABLE";
    case grpc::StatusCode::INTERNAL:
      return "INTERNAL";
    case grpc::StatusCode::NOT_FOUND:
      return "NOT_FOUND";
    case grpc::StatusCode::UNIMPLEMENTED:
      return "UNIMPLEMENTED";
    case grpc::StatusCode::UNAUTHENTICATED:
      return "UNAUTHENTICATED";
    case grpc::StatusCode::PERMISSION_DENIED:
      return "PERMISSION_DENIED";
    default:
      return "OTHER";
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(
        stderr,
        "usage: raw_grpc_call HOST:PORT METHOD garbage|zeros:N|empty\n");
    return 2;
  }
  const std::string kind = argv[3];
  std::string bytes;
  int64_t n = 0;
  if (kind == "garbage") {
    // Field 1, length-delimited, claiming 16 bytes and giving 2.
    bytes = std::string("\x0a\x10") + "ab";
  } else if (kind.rfind("zeros:", 0) == 0 &&
             absl::SimpleAtoi(kind.substr(6), &n) && n >= 0) {
    bytes.assign(n, '\0');
  } else if (kind != "empty") {
    std::fprintf(stderr, "raw_grpc_call: unknown request kind '%s'\n", argv[3]);
    return 2;
  }
  grpc::ChannelArguments args;
  args.SetMaxSendMessageSize(-1);
  grpc::GenericStub stub(grpc::CreateCustomChannel(
      argv[1], grpc::InsecureChannelCredentials(), args));
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
  grpc::Slice slice(bytes.data(), bytes.size());
  grpc::ByteBuffer request(&slice, 1), response;
  grpc::CompletionQueue cq;
  auto call = stub.PrepareUnaryCall(&ctx, argv[2], request, &cq);
  call->StartCall();
  grpc::Status status;
  call->Finish(&response, &status, nullptr);
  void* tag;
  bool ok;
  cq.Next(&tag, &ok);
  std::printf("%s: %s\n", CodeName(status.error_code()),
              status.error_message().c_str());
  return 0;
}

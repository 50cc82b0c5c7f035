// Who may call a Rill server, and how a Rill process calls others (SPEC 10):
// a shared auth token carried by every call, and TLS with mutual
// authentication between the tasks.
//
//   ASSIGN_OR_RETURN(TransportSecurity security,
//                    TransportSecurity::FromFiles(token_file, cert, key, ca));
//   SetClientSecurity(security);         // this process's own calls
//   options.security = security;         // what its server accepts
//   auto channel = NewRillChannel("ps0:2222", RillChannelArguments(limit));
#ifndef RILL_DISTRIBUTED_TRANSPORT_SECURITY_H_
#define RILL_DISTRIBUTED_TRANSPORT_SECURITY_H_

#include <map>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "grpcpp/channel.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/support/channel_arguments.h"
#include "grpcpp/support/string_ref.h"

namespace rill {

struct TransportSecurity {
  // Every call carries it ("authorization: Bearer TOKEN"); a server with a
  // token refuses calls without it. Empty: no token.
  std::string auth_token;
  // PEM text: this process's certificate and key, and the CA that signed
  // its peers'. All empty: plaintext.
  std::string tls_cert, tls_key, tls_ca;

  bool tls() const { return !tls_ca.empty(); }

  // Reads the files the flags name (any may be empty): the token is the
  // file's text without surrounding whitespace; TLS needs all three files.
  // INVALID_ARGUMENT naming the flag and the file when one is missing,
  // unreadable or empty.
  static absl::StatusOr<TransportSecurity> FromFiles(
      const std::string& auth_token_file, const std::string& tls_cert_file,
      const std::string& tls_key_file, const std::string& tls_ca_file);
};

// The security of every channel this process opens (to masters, between
// tasks). Set once, before the first channel; plaintext without a token
// until then.
void SetClientSecurity(TransportSecurity security);
TransportSecurity ClientSecurity();

// A channel to `address` ("host:port") with the client security: TLS when
// it has certificates, the token added to every call's metadata.
std::shared_ptr<grpc::Channel> NewRillChannel(
    const std::string& address, const grpc::ChannelArguments& args);

// What a server listens with: TLS requiring a client certificate signed by
// the CA when `security` has certificates, else plaintext.
std::shared_ptr<grpc::ServerCredentials> RillServerCredentials(
    const TransportSecurity& security);

// Whether a call's metadata carries `token` (always true for an empty
// token). The comparison takes the same time wherever the first difference
// is.
bool CarriesToken(
    const std::multimap<grpc::string_ref, grpc::string_ref>& metadata,
    const std::string& token);

}  // namespace rill

#endif  // RILL_DISTRIBUTED_TRANSPORT_SECURITY_H_

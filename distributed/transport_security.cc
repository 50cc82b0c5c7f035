#include "distributed/transport_security.h"

#include <fstream>
#include <sstream>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/support/client_interceptor.h"

namespace rill {
namespace {

constexpr char kAuthKey[] = "authorization";
constexpr char kBearer[] = "Bearer ";

absl::StatusOr<std::string> ReadFlagFile(const std::string& flag,
                                         const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::InvalidArgumentError(
        absl::StrCat(flag, ": cannot read '", path, "'"));
  }
  std::ostringstream text;
  text << in.rdbuf();
  std::string contents = text.str();
  if (absl::StripAsciiWhitespace(contents).empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(flag, ": '", path, "' is empty"));
  }
  return contents;
}

// Adds the token to the metadata of every call on its channel.
class TokenInterceptor : public grpc::experimental::Interceptor {
 public:
  explicit TokenInterceptor(const std::string* header) : header_(header) {}
  void Intercept(
      grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(
            grpc::experimental::InterceptionHookPoints::
                PRE_SEND_INITIAL_METADATA)) {
      methods->GetSendInitialMetadata()->emplace(kAuthKey, *header_);
    }
    methods->Proceed();
  }

 private:
  const std::string* const header_;  // Owned by the factory.
};

class TokenInterceptorFactory
    : public grpc::experimental::ClientInterceptorFactoryInterface {
 public:
  explicit TokenInterceptorFactory(const std::string& token)
      : header_(absl::StrCat(kBearer, token)) {}
  grpc::experimental::Interceptor* CreateClientInterceptor(
      grpc::experimental::ClientRpcInfo*) override {
    return new TokenInterceptor(&header_);
  }

 private:
  const std::string header_;
};

absl::Mutex security_mu;
TransportSecurity& ProcessSecurity()
    ABSL_EXCLUSIVE_LOCKS_REQUIRED(security_mu) {
  static TransportSecurity* const security = new TransportSecurity;
  return *security;
}

}  // namespace

absl::StatusOr<TransportSecurity> TransportSecurity::FromFiles(
    const std::string& auth_token_file, const std::string& tls_cert_file,
    const std::string& tls_key_file, const std::string& tls_ca_file) {
  TransportSecurity security;
  if (!auth_token_file.empty()) {
    absl::StatusOr<std::string> token =
        ReadFlagFile("--auth_token_file", auth_token_file);
    if (!token.ok()) return token.status();
    security.auth_token =
        std::string(absl::StripAsciiWhitespace(*std::move(token)));
    for (char c : security.auth_token) {
      // A metadata value is printable ASCII.
      if (c < 0x20 || c > 0x7e) {
        return absl::InvalidArgumentError(
            absl::StrCat("--auth_token_file: '", auth_token_file,
                         "' holds characters other than printable ASCII"));
      }
    }
  }
  const int given =
      !tls_cert_file.empty() + !tls_key_file.empty() + !tls_ca_file.empty();
  if (given != 0 && given != 3) {
    return absl::InvalidArgumentError(
        "TLS needs all of --tls_cert, --tls_key and --tls_ca");
  }
  if (given == 3) {
    const std::pair<const char*, const std::string*> files[] = {
        {"--tls_cert", &tls_cert_file},
        {"--tls_key", &tls_key_file},
        {"--tls_ca", &tls_ca_file}};
    std::string* into[] = {&security.tls_cert, &security.tls_key,
                           &security.tls_ca};
    for (int i = 0; i < 3; ++i) {
      absl::StatusOr<std::string> pem =
          ReadFlagFile(files[i].first, *files[i].second);
      if (!pem.ok()) return pem.status();
      if (pem->find("-----BEGIN ") == std::string::npos) {
        return absl::InvalidArgumentError(absl::StrCat(
            files[i].first, ": '", *files[i].second, "' is not PEM"));
      }
      *into[i] = *std::move(pem);
    }
  }
  return security;
}

void SetClientSecurity(TransportSecurity security) {
  absl::MutexLock lock(&security_mu);
  ProcessSecurity() = std::move(security);
}

TransportSecurity ClientSecurity() {
  absl::MutexLock lock(&security_mu);
  return ProcessSecurity();
}

std::shared_ptr<grpc::Channel> NewRillChannel(
    const std::string& address, const grpc::ChannelArguments& args) {
  const TransportSecurity security = ClientSecurity();
  std::shared_ptr<grpc::ChannelCredentials> credentials;
  if (security.tls()) {
    grpc::SslCredentialsOptions ssl;
    ssl.pem_root_certs = security.tls_ca;
    ssl.pem_private_key = security.tls_key;
    ssl.pem_cert_chain = security.tls_cert;
    credentials = grpc::SslCredentials(ssl);
  } else {
    credentials = grpc::InsecureChannelCredentials();
  }
  if (security.auth_token.empty()) {
    return grpc::CreateCustomChannel(address, credentials, args);
  }
  std::vector<
      std::unique_ptr<grpc::experimental::ClientInterceptorFactoryInterface>>
      interceptors;
  interceptors.push_back(
      std::make_unique<TokenInterceptorFactory>(security.auth_token));
  return grpc::experimental::CreateCustomChannelWithInterceptors(
      address, credentials, args, std::move(interceptors));
}

std::shared_ptr<grpc::ServerCredentials> RillServerCredentials(
    const TransportSecurity& security) {
  if (!security.tls()) return grpc::InsecureServerCredentials();
  grpc::SslServerCredentialsOptions ssl(
      GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
  ssl.pem_root_certs = security.tls_ca;
  ssl.pem_key_cert_pairs.push_back({security.tls_key, security.tls_cert});
  return grpc::SslServerCredentials(ssl);
}

bool CarriesToken(
    const std::multimap<grpc::string_ref, grpc::string_ref>& metadata,
    const std::string& token) {
  if (token.empty()) return true;
  const std::string expected = absl::StrCat(kBearer, token);
  bool found = false;
  auto [begin, end] = metadata.equal_range(kAuthKey);
  for (auto it = begin; it != end; ++it) {
    const grpc::string_ref& got = it->second;
    unsigned char diff = got.size() == expected.size() ? 0 : 1;
    for (size_t i = 0; i < expected.size(); ++i) {
      diff |= static_cast<unsigned char>(expected[i]) ^
              static_cast<unsigned char>(i < got.size() ? got.data()[i] : 0);
    }
    found |= diff == 0;
  }
  return found;
}

}  // namespace rill

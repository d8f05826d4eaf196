#include "tools/service/call_auth.h"

#include <grpcpp/server_context.h>
#include <openssl/crypto.h>
#include <openssl/sha.h>

#include <cstring>
#include <fstream>

namespace refinery::service {

namespace {
void Digest(std::string_view text, unsigned char out[32]) {
  SHA256(reinterpret_cast<const unsigned char*>(text.data()), text.size(), out);
}
}  // namespace

CallAuth::CallAuth(const std::string& token) : required_(!token.empty()) {
  if (required_) Digest(token, digest_);
}

Status CallAuth::Check(const grpc::ServerContextBase& context) const {
  if (!required_) return Status::Ok();
  const auto& metadata = context.client_metadata();
  auto it = metadata.find("authorization");
  if (it == metadata.end()) return CheckHeader(std::nullopt);
  return CheckHeader(std::string_view(it->second.data(), it->second.size()));
}

Status CallAuth::CheckHeader(std::optional<std::string_view> authorization) const {
  if (!required_) return Status::Ok();
  if (!authorization) {
    return Status::FailedPrecondition(
        "this server requires a token: send 'authorization: Bearer <token>'");
  }
  const std::string_view value = *authorization;
  constexpr std::string_view kBearer = "Bearer ";
  if (value.substr(0, kBearer.size()) != kBearer) {
    return Status::FailedPrecondition("'authorization' must be 'Bearer <token>'");
  }
  unsigned char given[32];
  Digest(value.substr(kBearer.size()), given);
  if (CRYPTO_memcmp(given, digest_, sizeof given) != 0) {
    return Status::FailedPrecondition("the bearer token is not valid");
  }
  return Status::Ok();
}

StatusOr<std::string> ReadTokenFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) {
    return Status::NotFound(path + ": error: cannot read the token file: " + std::strerror(errno));
  }
  std::string line;
  std::getline(in, line);
  const size_t first = line.find_first_not_of(" \t\r\n");
  const size_t last = line.find_last_not_of(" \t\r\n");
  if (first == std::string::npos) {
    return Status::InvalidArgument(path + ": error: the token file's first line is empty");
  }
  return line.substr(first, last - first + 1);
}

}  // namespace refinery::service

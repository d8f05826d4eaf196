// Bearer-token check for every refinery call: `authorization: Bearer <token>` metadata.
// The comparison is constant-time (SHA-256 of both, then CRYPTO_memcmp), so neither the token's
// content nor its length shows in the response time.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "graph/status.h"

namespace grpc {
class ServerContextBase;
}

namespace refinery::service {

class CallAuth {
 public:
  explicit CallAuth(const std::string& token);  // "" = every call allowed
  bool required() const { return required_; }
  // OK, or the reason the call is refused (UNAUTHENTICATED).
  Status Check(const grpc::ServerContextBase& context) const;
  // The same check on an `authorization` value from any transport (nullopt: none was sent), for
  // the HTTP model server as for gRPC metadata.
  Status CheckHeader(std::optional<std::string_view> authorization) const;

 private:
  bool required_ = false;
  unsigned char digest_[32] = {};
};

// Reads a token file: the first line, surrounding whitespace removed. A missing, unreadable or
// empty file is an error naming the file.
StatusOr<std::string> ReadTokenFile(const std::string& path);

}  // namespace refinery::service

#include "tools/worker/amqp_address.h"

#include <charconv>

namespace refinery::worker {

std::string AmqpAddress::ConnectionUrl() const {
  return std::string(tls ? "amqps://" : "amqp://") + host + ":" + std::to_string(port);
}

bool AmqpAddress::SameBroker(const AmqpAddress& other) const {
  return tls == other.tls && user == other.user && host == other.host && port == other.port;
}

std::string AmqpAddress::ToString() const {
  return std::string(tls ? "amqps://" : "amqp://") + (user.empty() ? "" : user + "@") + host + ":" +
         std::to_string(port) + (address.rfind("/amq/", 0) == 0 ? "" : "/") + address;
}

StatusOr<AmqpAddress> ParseAmqpAddress(const std::string& url, const std::string& what) {
  auto bad = [&](const std::string& why) {
    return Status::InvalidArgument(what + " '" + url + "': " + why +
                                   " (expected amqp[s]://[USER@]HOST[:PORT]/ADDRESS)");
  };
  AmqpAddress out;
  std::string rest;
  if (url.rfind("amqps://", 0) == 0) {
    out.tls = true;
    out.port = 5671;
    rest = url.substr(8);
  } else if (url.rfind("amqp://", 0) == 0) {
    rest = url.substr(7);
  } else {
    return bad("not an amqp:// or amqps:// URL");
  }
  const size_t slash = rest.find('/');
  if (slash == std::string::npos || slash + 1 >= rest.size()) return bad("no queue address");
  out.address = rest.substr(slash + 1);
  // RabbitMQ's AMQP 1.0 addresses start with a slash (/amq/queue/NAME, /exchange/X, /queue/Q,
  // /topic/T): the URL's path separator doubles as it. Any other address is used as written
  // (write // for a leading slash of your own).
  for (const char* prefix : {"amq/queue/", "exchange/", "queue/", "topic/"}) {
    if (out.address.rfind(prefix, 0) == 0) {
      out.address = "/" + out.address;
      break;
    }
  }
  std::string authority = rest.substr(0, slash);
  if (const size_t at = authority.rfind('@'); at != std::string::npos) {
    out.user = authority.substr(0, at);
    authority = authority.substr(at + 1);
    if (out.user.find(':') != std::string::npos)
      return bad(
          "a password in the URL; put it in the environment variable named by "
          "--password-env instead");
    if (out.user.empty()) return bad("an empty user name");
  }
  // [v6]:port, host:port or host.
  std::string port_text;
  if (!authority.empty() && authority.front() == '[') {
    const size_t close = authority.find(']');
    if (close == std::string::npos) return bad("an unclosed [ in the host");
    out.host = authority.substr(1, close - 1);
    if (close + 1 < authority.size()) {
      if (authority[close + 1] != ':') return bad("text after the ]");
      port_text = authority.substr(close + 2);
    }
  } else if (const size_t colon = authority.rfind(':'); colon != std::string::npos) {
    out.host = authority.substr(0, colon);
    port_text = authority.substr(colon + 1);
  } else {
    out.host = authority;
  }
  if (out.host.empty()) return bad("no host");
  if (!port_text.empty()) {
    int port = 0;
    auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
    if (ec != std::errc() || end != port_text.data() + port_text.size() || port < 1 || port > 65535)
      return bad("port '" + port_text + "' is not a number from 1 to 65535");
    out.port = port;
  }
  return out;
}

}  // namespace refinery::worker

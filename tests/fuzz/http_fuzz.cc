// The metrics endpoint's request path: arbitrary bytes sent to a live MetricsServer on a
// loopback port, as a scraper (or anyone who can reach the port) could. Properties: every answer
// is an HTTP response (or the connection is closed), and the server still serves /healthz after
// each input. httplib itself is not instrumented, so coverage guidance is thin: this harness
// checks robustness (crashes, hangs, leaks in our handlers and connection queue) more than it
// explores.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>

#include "graph/monitor/views/metrics_server.h"
#include "tests/fuzz/fuzz_support.h"

namespace {

std::unique_ptr<refinery::monitor::MetricsServer>& Server() {
  static std::unique_ptr<refinery::monitor::MetricsServer> server;
  return server;
}

// Sends `bytes` and returns what the server answered within `wait_ms` of silence (or until it
// closed). No half-close: httplib treats a half-closed peer as gone and does not answer it.
std::string Exchange(const std::string& bytes, int wait_ms) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) {
    std::perror("http_fuzz: socket");
    std::abort();
  }
  timeval send_timeout{.tv_sec = 15, .tv_usec = 0};  // the server's own timeouts are 5 s
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &send_timeout, sizeof send_timeout);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(uint16_t(Server()->port()));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    std::perror("http_fuzz: connect to the metrics server");
    std::abort();
  }
  // The server may answer and close before reading everything (413, 400): a failed send is not
  // a finding.
  for (size_t sent = 0; sent < bytes.size();) {
    const ssize_t n = ::send(fd, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) break;
    sent += size_t(n);
  }
  std::string answer;
  char buf[4096];
  for (;;) {
    pollfd p{.fd = fd, .events = POLLIN, .revents = 0};
    if (::poll(&p, 1, wait_ms) <= 0) break;  // silence: an incomplete request waits for more
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;  // closed (or reset) by the server
    answer.append(buf, size_t(n));
  }
  ::close(fd);
  return answer;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  auto server = refinery::monitor::MetricsServer::Start(
      "127.0.0.1", 0, [] { return std::string("refinery_up 1\n"); }, [] { return true; });
  if (!server.ok()) std::abort();
  Server() = std::move(*server);
  return 0;
}

// Says which property failed, and what was seen, before aborting: the log kept with the
// reproducer then tells the two apart.
[[noreturn]] static void Fail(const char* what, const std::string& seen) {
  std::fprintf(stderr, "http_fuzz: %s; got %zu bytes: %s\n", what, seen.size(),
               seen.substr(0, 120).c_str());
  std::abort();
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // Whatever arrives is the start of an HTTP response.
  const std::string answer = Exchange(refinery::fuzz::Input(data, size), 50);
  const std::string status_line = "HTTP/1.1 ";
  if (status_line.compare(0, std::min(answer.size(), status_line.size()), answer, 0,
                          status_line.size()) != 0)
    Fail("the answer is not an HTTP/1.1 response", answer);
  // And the server still answers a scrape, within its 5 s timeouts.
  const std::string health =
      Exchange("GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 15000);
  if (health.rfind("HTTP/1.1 200 ", 0) != 0)
    Fail("/healthz did not answer 200 after the input", health);
  // Both clients have closed, so the server must let go of their connections (well within its
  // 5 s timeouts). This also keeps each input's work inside its own run: libFuzzer's per-input
  // leak check would otherwise see a connection thread of this input still holding its buffers.
  for (int waited_ms = 0; Server()->open_connections() > 0; ++waited_ms) {
    if (waited_ms == 10000) Fail("a connection was still open 10 s after its client closed", "");
    ::usleep(1000);
  }
  return 0;
}

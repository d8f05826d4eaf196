// MakeCertificates: a self-signed CA (ca.pem) and a server certificate (server.pem, server.key)
// for localhost and 127.0.0.1, written into `dir` by the openssl program (Debian package openssl,
// installed by tools/setup.sh --tests). For the TLS tests of the gRPC and HTTP servers.
#pragma once

#include <cstdlib>
#include <string>

namespace refinery::testing {

inline bool MakeCertificates(const std::string& dir) {
  const std::string cmd =
      "cd '" + dir +
      "' && openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=test-ca -keyout ca.key "
      "-out ca.pem && openssl req -newkey rsa:2048 -nodes -subj /CN=localhost -keyout "
      "server.key -out server.csr && printf 'subjectAltName=DNS:localhost,IP:127.0.0.1' > "
      "ext.cnf && openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial "
      "-days 2 -extfile ext.cnf -out server.pem";
  return std::system((cmd + " >/dev/null 2>&1").c_str()) == 0;
}

}  // namespace refinery::testing

// graph-runner serve-models: local GGUF models over the OpenAI HTTP API
// (tools/graph-runner/models_server.h) until SIGTERM or SIGINT (exit 0).
#include <signal.h>

#include <cstdio>
#include <filesystem>
#include <iostream>

#include "tools/graph-runner/commands.h"
#include "tools/graph-runner/models_server.h"
#include "tools/service/call_auth.h"

namespace refinery::cli {

int ServeModelsCommand(const ServeModelsArgs& args) {
  ModelsServerOptions options;
  for (const std::string& m : args.models) {
    // NAME=FILE, or FILE named by its stem.
    const size_t eq = m.find('=');
    if (eq != std::string::npos && eq > 0) {
      options.models.emplace_back(m.substr(0, eq), m.substr(eq + 1));
    } else {
      options.models.emplace_back(std::filesystem::path(m).stem().string(), m);
    }
  }
  const size_t colon = args.listen.rfind(':');
  if (colon == std::string::npos || colon == 0) {
    std::cerr << "error: --listen '" << args.listen << "' is not HOST:PORT\n";
    return 2;
  }
  options.host = args.listen.substr(0, colon);
  try {
    options.port = std::stoi(args.listen.substr(colon + 1));
  } catch (const std::exception&) {
    options.port = -1;
  }
  if (options.port < 0 || options.port > 65535) {
    std::cerr << "error: --listen '" << args.listen << "': the port must be 0-65535\n";
    return 2;
  }
  options.weights = args.weights;
  options.generator.max_batch = args.max_batch;
  options.generator.threads = args.threads;
  options.max_body_bytes = args.max_body_bytes;
  options.max_connections = args.max_connections;
  options.tls_cert = args.tls_cert;
  options.tls_key = args.tls_key;
  if (!args.auth_token_file.empty()) {
    StatusOr<std::string> token = service::ReadTokenFile(args.auth_token_file);
    if (!token.ok()) {
      std::cerr << "error: " << token.status().message() << "\n";
      return 2;
    }
    options.auth_token = *token;
  }
  if (options.host != "127.0.0.1" && options.host != "localhost" && options.host != "::1" &&
      (options.auth_token.empty() || options.tls_cert.empty())) {
    std::cerr << "warning: listening on " << options.host << " without "
              << (options.auth_token.empty() ? "--auth-token-file" : "--tls-cert")
              << ": anyone who can reach it can use the models (or read the traffic)\n";
  }
  // Signals are taken by this thread alone (sigwait below), blocked before other threads exist.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  auto server = ModelsServer::Start(options);
  if (!server.ok()) {
    std::cerr << "error: " << server.status().message() << "\n";
    return 2;
  }
  // The address on stdout, alone on its line, for scripts that started us with port 0.
  std::printf("listening on %s:%d\n", options.host.c_str(), (*server)->port());
  std::fflush(stdout);
  std::string names;
  for (const auto& [name, _] : options.models) names += " " + name;
  std::fprintf(stderr, "serving%s on %s://%s:%d/v1\n", names.c_str(),
               options.tls_cert.empty() ? "http" : "https", options.host.c_str(),
               (*server)->port());
  for (const std::string& note : (*server)->chat_notes())
    std::fprintf(stderr, "%s\n", note.c_str());
  int signal = 0;
  while (sigwait(&signals, &signal) != 0) {
  }
  std::fprintf(stderr, "%s: stopping\n", signal == SIGTERM ? "SIGTERM" : "SIGINT");
  server->reset();
  return 0;
}

}  // namespace refinery::cli

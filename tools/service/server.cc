#include "tools/service/server.h"

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/health_check_service_interface.h>

#include <fstream>
#include <sstream>

#include "graph/monitor/views/prometheus.h"
#include "tools/service/refinery_service.h"

namespace refinery::service {

namespace {

constexpr const char* kServiceName = "refinery.v1.Refinery";

StatusOr<std::string> ReadPem(const std::string& path, const char* what) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  if (!in || text.str().empty()) {
    return Status::InvalidArgument(path + ": error: cannot read the " + what);
  }
  return text.str();
}

StatusOr<std::shared_ptr<grpc::ServerCredentials>> Credentials(const ServeOptions& o) {
  if (o.tls_cert.empty() != o.tls_key.empty())
    return Status::InvalidArgument("error: --tls-cert and --tls-key go together");
  if (o.tls_cert.empty()) {
    if (!o.tls_client_ca.empty())
      return Status::InvalidArgument("error: --tls-client-ca needs --tls-cert and --tls-key");
    return grpc::InsecureServerCredentials();
  }
  grpc::SslServerCredentialsOptions ssl;
  StatusOr<std::string> cert = ReadPem(o.tls_cert, "TLS certificate (--tls-cert)");
  if (!cert.ok()) return cert.status();
  StatusOr<std::string> key = ReadPem(o.tls_key, "TLS private key (--tls-key)");
  if (!key.ok()) return key.status();
  ssl.pem_key_cert_pairs.push_back({*key, *cert});
  if (!o.tls_client_ca.empty()) {
    StatusOr<std::string> ca = ReadPem(o.tls_client_ca, "client CA (--tls-client-ca)");
    if (!ca.ok()) return ca.status();
    ssl.pem_root_certs = *ca;
    ssl.client_certificate_request = GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY;
  }
  return grpc::SslServerCredentials(ssl);
}

std::string HostOf(const std::string& listen) {
  const size_t colon = listen.rfind(':');
  return colon == std::string::npos ? listen : listen.substr(0, colon);
}

}  // namespace

StatusOr<std::unique_ptr<Server>> Server::Start(ServeOptions options) {
  if (options.pipelines.empty()) return Status::InvalidArgument("error: no pipeline file given");
  if (options.max_streams < 1 || options.stream_in_flight < 1 || options.max_message_bytes < 1 ||
      options.max_field_bytes < 1 || options.max_threads < 2) {
    return Status::InvalidArgument(
        "error: --max-streams, --stream-in-flight, --max-message-bytes and --max-field-bytes "
        "must be at least 1, --max-threads at least 2");
  }
  StatusOr<std::shared_ptr<grpc::ServerCredentials>> credentials = Credentials(options);
  if (!credentials.ok()) return credentials.status();
  StatusOr<std::shared_ptr<const PipelineSet>> set =
      PipelineSet::Load(options.pipelines, options.config, options.sets, options.threads);
  if (!set.ok()) return set.status();

  std::unique_ptr<Server> server(new Server());
  server->options_ = options;
  server->served_ = std::make_unique<ServedPipelines>(std::move(set).value());
  server->metrics_ = std::make_unique<CallMetrics>();
  server->service_ =
      std::make_unique<RefineryService>(options, server->served_.get(), server->metrics_.get());

  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  builder.AddListeningPort(options.listen, *credentials, &server->port_);
  builder.RegisterService(server->service_.get());
  builder.SetMaxReceiveMessageSize(int(std::min<int64_t>(options.max_message_bytes, INT32_MAX)));
  builder.SetMaxSendMessageSize(-1);  // results are as large as the pipeline makes them
  grpc::ResourceQuota quota("refinery-serve");
  quota.SetMaxThreads(options.max_threads);
  builder.SetResourceQuota(quota);
  // Dead peers are found by keepalive pings, so their streams end and their requests stop.
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIME_MS, 60000);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 20000);
  server->server_ = builder.BuildAndStart();
  if (server->server_ == nullptr || server->port_ == 0) {
    return Status::InvalidArgument("error: cannot listen on " + options.listen +
                                   " (address in use, or not an address of this machine)");
  }
  server->address_ = HostOf(options.listen) + ":" + std::to_string(server->port_);
  server->SetHealth(*server->served_->current(), true);
  return server;
}

Server::~Server() { Shutdown(std::chrono::milliseconds(0)); }

std::string Server::ExposureWarning() const {
  const std::string host = HostOf(options_.listen);
  const bool loopback = host == "127.0.0.1" || host == "localhost" || host == "[::1]" ||
                        host.rfind("127.", 0) == 0 || host == "unix" ||
                        options_.listen.rfind("unix:", 0) == 0;
  if (loopback) return "";
  std::string missing;
  if (options_.tls_cert.empty()) missing = "TLS (--tls-cert/--tls-key)";
  if (options_.auth_token.empty())
    missing += std::string(missing.empty() ? "" : " or ") + "a token (--auth-token-file)";
  if (missing.empty()) return "";
  return "warning: listening on " + options_.listen + ", reachable beyond this machine, without " +
         missing + ": anyone who can reach the port can run requests";
}

void Server::SetHealth(const PipelineSet& set, bool serving) {
  grpc::HealthCheckServiceInterface* health = server_->GetHealthCheckService();
  if (health == nullptr) return;
  health->SetServingStatus("", serving);
  health->SetServingStatus(kServiceName, serving);
  for (const auto& [name, _] : set.pipelines()) health->SetServingStatus(name, serving);
}

Status Server::Reload() {
  std::lock_guard lock(reload_mu_);
  if (shut_down_) return Status::FailedPrecondition("the server is shutting down");
  StatusOr<std::shared_ptr<const PipelineSet>> next =
      PipelineSet::Load(options_.pipelines, options_.config, options_.sets, options_.threads);
  if (!next.ok()) return next.status();
  std::shared_ptr<const PipelineSet> old = served_->Swap(*next);
  // Names that are gone report NOT_SERVING; the new ones SERVING.
  if (grpc::HealthCheckServiceInterface* health = server_->GetHealthCheckService()) {
    for (const auto& [name, _] : old->pipelines()) {
      if ((*next)->pipelines().count(name) == 0) health->SetServingStatus(name, false);
    }
  }
  SetHealth(**next, true);
  return Status::Ok();
}

void Server::Shutdown(std::chrono::milliseconds drain) {
  {
    std::lock_guard lock(reload_mu_);
    if (shut_down_ || server_ == nullptr) return;
    shut_down_ = true;
  }
  if (grpc::HealthCheckServiceInterface* health = server_->GetHealthCheckService()) {
    health->Shutdown();  // every service NOT_SERVING, and it stays so
  }
  server_->Shutdown(std::chrono::system_clock::now() + drain);
  server_->Wait();
  served_->Swap(nullptr);  // the engines drain and go with the last call that used them
}

std::string Server::MetricsText() const {
  monitor::Exposition e;
  if (std::shared_ptr<const PipelineSet> set = served_->current()) {
    for (const auto& [name, p] : set->pipelines())
      monitor::AppendPrometheus(p.engine->Stats(StatsDetail::kLive), name, &e);
  }
  metrics_->AppendTo(&e);
  e.Family("refinery_grpc_streams_open", "gauge", "Streams (RunStream, RunBatches) open now.");
  e.Value("refinery_grpc_streams_open", {}, double(service_->open_streams()));
  e.Family("refinery_grpc_calls_waiting_for_room", "gauge",
           "Run calls waiting for room in a full pipeline now (at most --max-threads).");
  e.Value("refinery_grpc_calls_waiting_for_room", {}, double(service_->waiting_for_room()));
  return e.Text();
}

}  // namespace refinery::service

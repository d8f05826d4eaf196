#include "tools/service/client.h"

#include <grpcpp/grpcpp.h>

#include <fstream>
#include <future>
#include <sstream>
#include <thread>

#include "graph/io/json_io.h"

namespace refinery::client {

namespace {

const char* CodeName(grpc::StatusCode code) {
  static constexpr const char* kNames[] = {"OK",
                                           "CANCELLED",
                                           "UNKNOWN",
                                           "INVALID_ARGUMENT",
                                           "DEADLINE_EXCEEDED",
                                           "NOT_FOUND",
                                           "ALREADY_EXISTS",
                                           "PERMISSION_DENIED",
                                           "RESOURCE_EXHAUSTED",
                                           "FAILED_PRECONDITION",
                                           "ABORTED",
                                           "OUT_OF_RANGE",
                                           "UNIMPLEMENTED",
                                           "INTERNAL",
                                           "UNAVAILABLE",
                                           "DATA_LOSS",
                                           "UNAUTHENTICATED"};
  const int i = int(code);
  return i >= 0 && i < int(std::size(kNames)) ? kNames[i] : "UNKNOWN";
}

Status FromGrpc(const grpc::Status& s) {
  if (s.ok()) return Status::Ok();
  const std::string text = DescribeGrpcStatus(s);
  switch (s.error_code()) {
    case grpc::StatusCode::INVALID_ARGUMENT:
      return Status::InvalidArgument(text);
    case grpc::StatusCode::NOT_FOUND:
      return Status::NotFound(text);
    case grpc::StatusCode::RESOURCE_EXHAUSTED:
      return Status::ResourceExhausted(text);
    case grpc::StatusCode::FAILED_PRECONDITION:
    case grpc::StatusCode::UNAUTHENTICATED:
      return Status::FailedPrecondition(text);
    default:
      return Status::Internal(text);
  }
}

StatusOr<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  if (!in || text.str().empty()) return Status::InvalidArgument(path + ": error: cannot read it");
  return text.str();
}

}  // namespace

std::string DescribeGrpcStatus(const grpc::Status& status) {
  return std::string(CodeName(status.error_code())) + ": " + status.error_message();
}

StatusOr<std::unique_ptr<Client>> Client::Connect(const ClientOptions& options) {
  std::shared_ptr<grpc::ChannelCredentials> credentials = grpc::InsecureChannelCredentials();
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(int(std::min<int64_t>(options.max_message_bytes, INT32_MAX)));
  args.SetMaxSendMessageSize(-1);
  if (!options.tls_ca.empty() || !options.tls_cert.empty()) {
    grpc::SslCredentialsOptions ssl;
    if (!options.tls_ca.empty()) {
      StatusOr<std::string> ca = ReadFile(options.tls_ca);
      if (!ca.ok()) return ca.status();
      ssl.pem_root_certs = *ca;
    }
    if (!options.tls_cert.empty()) {
      StatusOr<std::string> cert = ReadFile(options.tls_cert);
      if (!cert.ok()) return cert.status();
      StatusOr<std::string> key = ReadFile(options.tls_key);
      if (!key.ok()) return key.status();
      ssl.pem_cert_chain = *cert;
      ssl.pem_private_key = *key;
    }
    credentials = grpc::SslCredentials(ssl);
    if (!options.tls_server_name.empty()) args.SetSslTargetNameOverride(options.tls_server_name);
  }
  auto channel = grpc::CreateCustomChannel(options.target, credentials, args);
  return std::unique_ptr<Client>(new Client(options, std::move(channel)));
}

Client::Client(const ClientOptions& options, std::shared_ptr<grpc::Channel> channel)
    : options_(options), channel_(std::move(channel)), stub_(v1::Refinery::NewStub(channel_)) {}

void Client::Prepare(grpc::ClientContext* context) const {
  if (!options_.auth_token.empty())
    context->AddMetadata("authorization", "Bearer " + options_.auth_token);
}

StatusOr<Result> Client::Run(const std::string& pipeline, const Request& request,
                             std::optional<std::chrono::milliseconds> timeout) {
  grpc::ClientContext context;
  Prepare(&context);
  if (timeout) context.set_deadline(std::chrono::system_clock::now() + *timeout);
  v1::RunRequest message;
  message.set_pipeline(pipeline);
  *message.mutable_request() = RequestToProto(request);
  proto::Result result;
  // The callback stub, waited on here: measured faster than the blocking stub, whose calling
  // thread drives its own completion queue.
  std::promise<grpc::Status> done;
  stub_->async()->Run(&context, &message, &result, [&](grpc::Status s) { done.set_value(s); });
  grpc::Status s = done.get_future().get();
  if (!s.ok()) return FromGrpc(s);
  return ResultFromProto(result);
}

Status Client::Stream(const std::string& pipeline, const RequestSource& next,
                      const ResultCallback& on_result, const StreamOptions& options) {
  grpc::ClientContext context;
  Prepare(&context);
  if (options.ordered) context.AddMetadata("refinery-ordered", "true");
  if (options.priority) context.AddMetadata("refinery-priority", std::to_string(*options.priority));
  if (options.timeout) context.set_deadline(std::chrono::system_clock::now() + *options.timeout);
  auto stream = stub_->RunBatches(&context);
  // Requests go out on their own thread: Write blocks while the server is not reading (its
  // in-flight cap, HTTP/2 flow control), and results must keep being read meanwhile.
  const int batch = std::max(1, options.batch);
  std::thread writer([&] {
    Request request;
    v1::RunBatch message;
    bool more = true;
    while (more) {
      message.Clear();
      while (message.requests_size() < batch && (more = next(&request))) {
        v1::RunRequest* r = message.add_requests();
        r->set_pipeline(pipeline);
        *r->mutable_request() = RequestToProto(request);
        request = Request{};
      }
      if (message.requests_size() > 0 && !stream->Write(message)) break;  // Finish() says why
    }
    stream->WritesDone();
  });
  v1::ResultBatch results;
  while (stream->Read(&results)) {
    for (const proto::Result& r : results.results()) on_result(ResultFromProto(r));
  }
  writer.join();
  return FromGrpc(stream->Finish());
}

StatusOr<v1::ListPipelinesResponse> Client::ListPipelines() {
  grpc::ClientContext context;
  Prepare(&context);
  v1::ListPipelinesResponse response;
  grpc::Status s = stub_->ListPipelines(&context, v1::ListPipelinesRequest(), &response);
  if (!s.ok()) return FromGrpc(s);
  return response;
}

StatusOr<v1::PipelineDescription> Client::DescribePipeline(const std::string& pipeline) {
  grpc::ClientContext context;
  Prepare(&context);
  v1::DescribePipelineRequest request;
  request.set_pipeline(pipeline);
  v1::PipelineDescription response;
  grpc::Status s = stub_->DescribePipeline(&context, request, &response);
  if (!s.ok()) return FromGrpc(s);
  return response;
}

StatusOr<proto::RunReport> Client::Stats(const std::string& pipeline) {
  grpc::ClientContext context;
  Prepare(&context);
  v1::StatsRequest request;
  request.set_pipeline(pipeline);
  proto::RunReport response;
  grpc::Status s = stub_->Stats(&context, request, &response);
  if (!s.ok()) return FromGrpc(s);
  return response;
}

}  // namespace refinery::client

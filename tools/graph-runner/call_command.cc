// graph-runner call: a JSON Lines (or text) input through a running server, results written
// exactly as `run` writes them, so a script can switch between the two.
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>

#include "graph/io/json_io.h"
#include "tools/graph-runner/commands.h"
#include "tools/graph-runner/input_reader.h"
#include "tools/graph-runner/result_writer.h"
#include "tools/service/call_auth.h"
#include "tools/service/client.h"

namespace refinery::cli {

int CallCommand(const CallArgs& args) {
  client::ClientOptions options = args.client;
  if (!args.auth_token_file.empty()) {
    StatusOr<std::string> token = service::ReadTokenFile(args.auth_token_file);
    if (!token.ok()) {
      std::cerr << token.status().message() << "\n";
      return 2;
    }
    options.auth_token = *token;
  }
  auto connection = client::Client::Connect(options);
  if (!connection.ok()) {
    std::cerr << connection.status().message() << "\n";
    return 2;
  }
  client::Client& server = **connection;
  auto writer = ResultWriter::Open(args.output, /*flush_each=*/false);
  if (!writer.ok()) {
    std::cerr << writer.status().message() << "\n";
    return 2;
  }
  const InputFormat format = args.input_format == "jsonl"  ? InputFormat::kJsonLines
                             : args.input_format == "text" ? InputFormat::kText
                                                           : InputFormat::kAuto;
  InputReader reader(args.inputs, format, args.max_line_bytes);
  int64_t sent = 0, received = 0, failed = 0;
  // A bad line goes to the server as a known-bad request, so its error result keeps its place.
  auto next = [&](Request* request) {
    InputItem item;
    if (!reader.Next(&item)) return false;
    if (item.request) {
      *request = std::move(*item.request);
    } else {
      request->id = item.fallback_id;
      request->input_error = item.error;
      std::fprintf(stderr, "%s\n", item.error.c_str());
    }
    ++sent;
    return true;
  };
  const auto start = std::chrono::steady_clock::now();
  client::StreamOptions stream;
  stream.ordered = args.ordered;
  if (args.timeout_seconds > 0)
    stream.timeout = std::chrono::milliseconds(int64_t(args.timeout_seconds * 1000));
  Status s = server.Stream(
      args.pipeline, next,
      [&](Result&& r) {
        ++received;
        if (!r.ok) ++failed;
        (*writer)->Write(r);
      },
      stream);
  const Status written = (*writer)->Close();
  const double wall =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (args.summary) {
    std::fprintf(stderr, "%s: %lld requests sent, %lld results (%lld failed) in %.2f s\n",
                 options.target.c_str(), (long long)sent, (long long)received, (long long)failed,
                 wall);
  }
  if (!written.ok()) std::cerr << written.message() << "\n";
  if (!s.ok()) {
    std::cerr << "error: the stream to " << options.target << " failed: " << s.message() << "\n";
    if (sent > received)
      std::fprintf(stderr, "error: %lld of %lld requests have no result\n",
                   (long long)(sent - received), (long long)sent);
    return received == 0 ? 2 : 1;  // nothing came back: the call itself was refused
  }
  if (!args.report.empty()) {
    StatusOr<proto::RunReport> report = server.Stats(args.pipeline);
    if (!report.ok()) {
      std::cerr << "error: Stats: " << report.status().message() << "\n";
      return 1;
    }
    std::ofstream out(args.report);
    out << MessageToJson(*report, true) << "\n";
    out.close();
    if (!out) {
      std::cerr << args.report << ": error: cannot write the run report\n";
      return 2;
    }
  }
  return failed > 0 || !written.ok() ? 1 : 0;
}

}  // namespace refinery::cli

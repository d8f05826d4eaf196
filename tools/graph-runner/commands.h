// graph-runner subcommands. Each returns the process exit code:
// 0 success, 1 some requests failed or results not written, 2 bad pipeline or arguments,
// 130 interrupted.
#pragma once

#include <string>
#include <vector>

#include "graph/proto/refinery.pb.h"
#include "graph/runtime_config.h"
#include "graph/spec/pipeline_loader.h"
#include "tools/service/client.h"
#include "tools/service/serve_options.h"
#include "tools/worker/worker_options.h"

namespace refinery::cli {

struct RunArgs {
  std::string pipeline;
  std::vector<std::string> inputs{"-"};
  std::string output = "-";
  std::string input_format = "auto";
  std::string report;       // JSON run report path ("" = none)
  std::string report_html;  // HTML run report path ("" = none)
  std::string alerts;       // alert JSON Lines file, over the config's monitoring.alerts.file
  int metrics_port = -1;    // Prometheus endpoint: -1 off, 0 any free port
  std::string metrics_host = "127.0.0.1";
  double metrics_linger = 0;  // seconds to keep serving after the run
  std::string config;         // configs/ file ("" = none)
  std::vector<std::string> sets;
  int threads = 0;  // 0 = all cores
  bool ordered = false;
  bool progress = true;
  bool summary = true;
  size_t max_line_bytes = 64 << 20;
  bool unique_ids = false;  // a repeated request id is an input error (else counted, flagged)
};

int RunCommand(const RunArgs& args);

struct ServeArgs {
  service::ServeOptions options;
  std::string auth_token_file;
  double drain_seconds = 30;
  int metrics_port = -1;
  std::string metrics_host = "127.0.0.1";
};
int ServeCommand(const ServeArgs& args);

struct CallArgs {
  client::ClientOptions client;
  std::string auth_token_file;
  std::string pipeline;
  std::vector<std::string> inputs{"-"};
  std::string output = "-";
  std::string input_format = "auto";
  std::string report;  // the server's Stats for the pipeline after the run, as JSON
  bool ordered = false;
  bool summary = true;
  double timeout_seconds = 0;
  size_t max_line_bytes = 64 << 20;
};
int CallCommand(const CallArgs& args);

struct WorkArgs {
  worker::WorkerOptions options;
  std::string source, sink;  // amqp[s]:// URLs, parsed by the command
  int metrics_port = -1;
  std::string metrics_host = "127.0.0.1";
};
int WorkCommand(const WorkArgs& args);
struct ServeModelsArgs {
  std::vector<std::string> models;  // FILE or NAME=FILE
  std::string listen = "127.0.0.1:8080";
  std::string weights = "f32";
  int max_batch = 16;
  int threads = 1;
  std::string auth_token_file;
  std::string tls_cert, tls_key;
  size_t max_body_bytes = 8 << 20;
  int max_connections = 64;
};
int ServeModelsCommand(const ServeModelsArgs& args);

int ValidateCommand(const std::vector<std::string>& pipelines, const std::vector<std::string>& sets,
                    const std::string& config);
int DescribeCommand(const std::string& pipeline, const std::vector<std::string>& sets,
                    const std::string& config, bool dot);
int NodesCommand(const std::string& type);
// Renders a saved JSON run report (graph-runner run --report) as the HTML page.
int ReportCommand(const std::string& json_report, const std::string& html_out);
// Reads a saved JSON run report; prints a located error and returns false when it cannot.
bool LoadRunReport(const std::string& path, proto::RunReport* out);
// Two saved run reports side by side, per request type and per node.
int CompareCommand(const std::string& before, const std::string& after);
// Exit 0 written, 2 bad arguments or input file, 1 the output could not be written.
int QuantizeCommand(const std::string& in, const std::string& out, const std::string& type);

struct LoaderInputs {
  Overrides overrides;
  RuntimeConfig config;
};
// Shared by the commands: --set texts and --config into loader inputs; prints errors to stderr.
bool LoadLoaderInputs(const std::vector<std::string>& sets, const std::string& config,
                      LoaderInputs* out);

}  // namespace refinery::cli

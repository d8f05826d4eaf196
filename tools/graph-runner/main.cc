// graph-runner: validate, inspect and run refinery pipelines. See docs/graph-runner.md.
#include <spdlog/cfg/helpers.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>

#include "tools/graph-runner/commands.h"
#include "tools/graph-runner/work_config.h"

int main(int argc, char** argv) {
  using refinery::cli::RunArgs;
  CLI::App app{
      "graph-runner: validate, inspect and run refinery pipelines (YAML compiled to oneTBB flow "
      "graphs).\nExit codes: 0 ok, 1 some requests failed or results not written, 2 bad pipeline "
      "or arguments, "
      "130 interrupted."};
  app.require_subcommand(1);
  app.fallthrough();  // --log-level works after the subcommand too
  std::string log_level = "warn";
  app.add_option("--log-level", log_level, "trace, debug, info, warn, error, critical or off")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "critical", "off"}));

  RunArgs run;
  CLI::App* run_cmd = app.add_subcommand("run", "stream requests through a pipeline");
  run_cmd->add_option("pipeline", run.pipeline, "pipeline YAML file")->required();
  run_cmd
      ->add_option("--input,-i", run.inputs,
                   "JSON Lines file (.jsonl/.json/.ndjson: {\"id\", \"type\", \"priority\", "
                   "\"deadline_ms\", \"text\", \"reference\", \"fields\"} per line), a plain text "
                   "file (one request per file), or - for stdin (JSON Lines); repeatable")
      ->capture_default_str();
  run_cmd->add_option("--input-format", run.input_format, "auto, jsonl or text")
      ->check(CLI::IsMember({"auto", "jsonl", "text"}))
      ->capture_default_str();
  run_cmd->add_option("--output,-o", run.output, "where to write result lines (- for stdout)")
      ->capture_default_str();
  run_cmd->add_option("--threads,-t", run.threads, "worker threads (0 = one per core)")
      ->check(CLI::Range(0, 1024))
      ->capture_default_str();
  run_cmd->add_option("--set", run.sets,
                      "override an option: node.key=value (or max_in_flight=N); repeatable");
  run_cmd->add_option(
      "--config", run.config,
      "runtime config (cache sizes, monitoring thresholds, drift, alert sinks), e.g. "
      "configs/default.yaml");
  run_cmd->add_option("--report", run.report, "write the JSON run report to this file");
  run_cmd->add_option(
      "--report-html", run.report_html,
      "write the run report as an HTML page (graph, latency histograms, tokens, alerts)");
  run_cmd->add_option("--alerts", run.alerts,
                      "append alerts (thresholds, anomalies, drift) to this JSON Lines file");
  run_cmd
      ->add_option(
          "--metrics-port", run.metrics_port,
          "serve Prometheus /metrics and /healthz on this port while running (0 = any free "
          "port, printed on stderr; -1 = off)")
      ->check(CLI::Range(-1, 65535))
      ->capture_default_str();
  run_cmd->add_option("--metrics-host", run.metrics_host, "address the metrics endpoint listens on")
      ->capture_default_str();
  run_cmd
      ->add_option("--metrics-linger", run.metrics_linger,
                   "keep serving /metrics this many seconds after the run ends")
      ->check(CLI::Range(0.0, 86400.0))
      ->capture_default_str();
  run_cmd->add_flag("--ordered", run.ordered, "write results in input order");
  run_cmd->add_flag("!--no-progress", run.progress,
                    "no live view (progress and per-node rates and latencies) on a terminal");
  run_cmd->add_flag("!--no-summary", run.summary, "no per-node summary on stderr");
  run_cmd->add_flag("--unique-ids", run.unique_ids,
                    "a request whose id was already used fails as an input error (without it, "
                    "repeats run and are counted in the summary)");
  run_cmd->add_option("--max-line-bytes", run.max_line_bytes, "longest input line accepted")
      ->capture_default_str();

  refinery::cli::ServeArgs serve;
  CLI::App* serve_cmd = app.add_subcommand(
      "serve",
      "serve pipelines over gRPC (refinery.v1.Refinery, health, reflection) until SIGTERM/SIGINT "
      "(drain, exit 0); SIGHUP reloads the files");
  serve_cmd->add_option("pipelines", serve.options.pipelines, "pipeline YAML files")->required();
  serve_cmd->add_option("--config", serve.options.config, "runtime config file");
  serve_cmd->add_option("--set", serve.options.sets,
                        "override an option: node.key=value; repeatable");
  serve_cmd
      ->add_option("--threads,-t", serve.options.threads,
                   "worker threads per pipeline (0 = one per core)")
      ->check(CLI::Range(0, 1024))
      ->capture_default_str();
  serve_cmd
      ->add_option("--listen", serve.options.listen,
                   "HOST:PORT to listen on (port 0: any free port; the address is printed on "
                   "stdout as 'listening on HOST:PORT')")
      ->capture_default_str();
  serve_cmd->add_option("--tls-cert", serve.options.tls_cert, "PEM certificate chain: serve TLS");
  serve_cmd->add_option("--tls-key", serve.options.tls_key, "PEM private key of --tls-cert");
  serve_cmd->add_option("--tls-client-ca", serve.options.tls_client_ca,
                        "PEM CA: require client certificates it signed (mutual TLS)");
  serve_cmd->add_option("--auth-token-file", serve.auth_token_file,
                        "file whose first line is the bearer token every call must carry");
  serve_cmd
      ->add_option("--max-message-bytes", serve.options.max_message_bytes,
                   "largest request message accepted (RESOURCE_EXHAUSTED over it)")
      ->check(CLI::Range(int64_t(1), int64_t(INT32_MAX)))
      ->capture_default_str();
  serve_cmd
      ->add_option("--max-field-bytes", serve.options.max_field_bytes,
                   "largest text field in a request (INVALID_ARGUMENT over it)")
      ->check(CLI::Range(int64_t(1), int64_t(INT32_MAX)))
      ->capture_default_str();
  serve_cmd
      ->add_option("--max-streams", serve.options.max_streams,
                   "streams (RunStream, RunBatches) open at once (RESOURCE_EXHAUSTED beyond)")
      ->check(CLI::Range(1, 100000))
      ->capture_default_str();
  serve_cmd
      ->add_option("--stream-in-flight", serve.options.stream_in_flight,
                   "requests a stream may have unanswered; the server stops reading it there")
      ->check(CLI::Range(1, 1000000))
      ->capture_default_str();
  serve_cmd
      ->add_option("--max-threads", serve.options.max_threads,
                   "threads for stream handlers, and for Run calls waiting for room in a full "
                   "pipeline (one each; beyond: RESOURCE_EXHAUSTED)")
      ->check(CLI::Range(2, 100000))
      ->capture_default_str();
  serve_cmd->add_flag("--reject-when-full", serve.options.reject_when_full,
                      "a unary call that finds its pipeline full fails at once with "
                      "RESOURCE_EXHAUSTED and a retry hint, instead of waiting up to its deadline");
  serve_cmd
      ->add_option("--drain-timeout", serve.drain_seconds,
                   "seconds calls in progress get to finish on SIGTERM/SIGINT")
      ->check(CLI::Range(0.0, 86400.0))
      ->capture_default_str();
  serve_cmd
      ->add_option("--metrics-port", serve.metrics_port,
                   "serve Prometheus /metrics (pipelines and gRPC methods) on this port (0 = any "
                   "free port; -1 = off)")
      ->check(CLI::Range(-1, 65535))
      ->capture_default_str();
  serve_cmd->add_option("--metrics-host", serve.metrics_host, "address of the metrics endpoint")
      ->capture_default_str();

  refinery::cli::CallArgs call;
  CLI::App* call_cmd = app.add_subcommand(
      "call",
      "stream an input through a running server (graph-runner serve); writes results as run does");
  call_cmd->add_option("--server", call.client.target, "HOST:PORT of the server")->required();
  call_cmd->add_option("--pipeline,-p", call.pipeline,
                       "the pipeline's name (may be omitted when the server serves one)");
  call_cmd->add_option("--input,-i", call.inputs, "as for run; repeatable")->capture_default_str();
  call_cmd->add_option("--input-format", call.input_format, "auto, jsonl or text")
      ->check(CLI::IsMember({"auto", "jsonl", "text"}))
      ->capture_default_str();
  call_cmd->add_option("--output,-o", call.output, "where to write result lines (- for stdout)")
      ->capture_default_str();
  call_cmd->add_flag("--ordered", call.ordered, "results in input order");
  call_cmd->add_option("--report", call.report,
                       "after the run, write the server's live report of the pipeline (Stats) as "
                       "JSON; graph-runner report renders it");
  call_cmd
      ->add_option("--timeout", call.timeout_seconds,
                   "deadline of the whole stream, seconds (0 = none)")
      ->check(CLI::Range(0.0, 1e6));
  call_cmd->add_option("--auth-token-file", call.auth_token_file, "file holding the bearer token");
  call_cmd->add_option("--tls-ca", call.client.tls_ca, "PEM CA to trust: connect with TLS");
  call_cmd->add_option("--tls-cert", call.client.tls_cert, "PEM client certificate (mutual TLS)");
  call_cmd->add_option("--tls-key", call.client.tls_key, "PEM key of --tls-cert");
  call_cmd->add_option("--tls-server-name", call.client.tls_server_name,
                       "name in the server's certificate, when not the host of --server");
  call_cmd->add_flag("!--no-summary", call.summary, "no summary line on stderr");
  call_cmd->add_option("--max-line-bytes", call.max_line_bytes, "longest input line accepted")
      ->capture_default_str();

  refinery::cli::WorkArgs work;
  refinery::worker::WorkerOptions& wo = work.options;
  CLI::App* work_cmd = app.add_subcommand(
      "work",
      "consume requests from an AMQP 1.0 queue (RabbitMQ, Azure Service Bus), send results to a "
      "sink queue or each request's reply-to; at-least-once, dead-letters failures; SIGTERM "
      "drains and exits 0");
  work_cmd->add_option("pipeline", wo.pipeline, "pipeline YAML file")->required();
  work_cmd->add_option("--source", work.source,
                       "request queue: amqp[s]://[USER@]HOST[:PORT]/ADDRESS (RabbitMQ 3.10: "
                       "/amq/queue/NAME; Service Bus: NAME)");
  work_cmd->add_option("--sink", work.sink, "result queue, same broker: amqp[s]://.../ADDRESS");
  std::string worker_config;
  work_cmd->add_option("--worker-config", worker_config,
                       "these settings from a YAML file's 'work:' mapping (keys: the flags with "
                       "_ for -, e.g. max_in_flight); flags given here win. configs/worker-*.yaml");
  work_cmd
      ->add_option("--password-env", wo.password_env,
                   "environment variable holding the password (Service Bus: the SAS key)")
      ->capture_default_str();
  work_cmd->add_option("--tls-ca", wo.tls_ca_file, "amqps: PEM CAs to trust (default: system)");
  work_cmd->add_option("--config", wo.config, "runtime config file");
  work_cmd->add_option("--set", wo.sets, "override an option: node.key=value; repeatable");
  work_cmd->add_option("--threads,-t", wo.threads, "engine threads (0 = one per core)")
      ->check(CLI::Range(0, 1024))
      ->capture_default_str();
  work_cmd
      ->add_option("--max-in-flight", wo.max_in_flight,
                   "unsettled request messages at this worker (credit; capped by the "
                   "pipeline's max_in_flight)")
      ->check(CLI::Range(1, 100000))
      ->capture_default_str();
  work_cmd
      ->add_option("--max-deliveries", wo.max_deliveries,
                   "dead-letter a request whose result could not be delivered this many times "
                   "(brokers that report delivery-count)")
      ->check(CLI::Range(1, 1000))
      ->capture_default_str();
  work_cmd
      ->add_option("--drain-seconds", wo.drain_seconds,
                   "on SIGTERM, finish in-flight requests for at most this long")
      ->check(CLI::Range(0.0, 86400.0))
      ->capture_default_str();
  work_cmd
      ->add_option("--connect-timeout", wo.connect_timeout_seconds,
                   "at start-up, give up on an unreachable broker after this many seconds "
                   "(once connected, outages are retried forever)")
      ->check(CLI::Range(0.0, 86400.0))
      ->capture_default_str();
  work_cmd
      ->add_option("--reconnect-max", wo.reconnect_max_seconds,
                   "longest wait between reconnect attempts (exponential backoff, jitter)")
      ->check(CLI::Range(0.1, 3600.0))
      ->capture_default_str();
  work_cmd->add_flag("!--no-verify-sink", wo.verify_sink,
                     "do not check that the sink exists (for sinks that cannot be read, e.g. a "
                     "Service Bus topic)");
  work_cmd
      ->add_option("--dead-letter-condition", wo.dead_letter_condition,
                   "error condition of a dead-lettering reject")
      ->capture_default_str();
  work_cmd
      ->add_option("--target-latency", wo.scaling.target_latency_s,
                   "scaling signal: queue + service latency to protect, seconds")
      ->check(CLI::Range(0.001, 86400.0))
      ->capture_default_str();
  work_cmd
      ->add_option("--scaling-horizon", wo.scaling.horizon_s,
                   "scaling signal: forecast this many seconds ahead (a new worker's start-up)")
      ->check(CLI::Range(0.0, 86400.0))
      ->capture_default_str();
  work_cmd
      ->add_option("--scaling-interval", wo.scaling_interval_seconds,
                   "scaling signal: seconds between samples")
      ->check(CLI::Range(0.1, 3600.0))
      ->capture_default_str();
  work_cmd
      ->add_option("--metrics-port", work.metrics_port,
                   "serve Prometheus /metrics (worker, scaling signal, engine) and /healthz on "
                   "this port (0 = any free port, printed on stderr; -1 = off)")
      ->check(CLI::Range(-1, 65535))
      ->capture_default_str();
  work_cmd
      ->add_option("--metrics-host", work.metrics_host, "address the metrics endpoint listens on")
      ->capture_default_str();

  refinery::cli::ServeModelsArgs serve_models;
  CLI::App* serve_models_cmd = app.add_subcommand(
      "serve-models",
      "serve local GGUF models with the OpenAI HTTP API (/v1/chat/completions, /v1/completions, "
      "/v1/models; streaming), batched across calls, until SIGTERM/SIGINT");
  serve_models_cmd
      ->add_option("models", serve_models.models,
                   "GGUF files, each FILE (named by its stem) or NAME=FILE")
      ->required();
  serve_models_cmd
      ->add_option("--listen", serve_models.listen,
                   "HOST:PORT (port 0: any free port, printed on stdout as 'listening on "
                   "HOST:PORT')")
      ->capture_default_str();
  serve_models_cmd
      ->add_option("--weights", serve_models.weights, "f32, bf16 or int8 (as infer's weights)")
      ->check(CLI::IsMember({"f32", "bf16", "int8"}))
      ->capture_default_str();
  serve_models_cmd
      ->add_option("--max-batch", serve_models.max_batch, "sequences decoded together per model")
      ->check(CLI::Range(1, 1024))
      ->capture_default_str();
  serve_models_cmd->add_option("--threads", serve_models.threads, "oneDNN threads per model")
      ->check(CLI::Range(1, 256))
      ->capture_default_str();
  serve_models_cmd->add_option("--tls-cert", serve_models.tls_cert,
                               "PEM certificate chain: serve HTTPS");
  serve_models_cmd->add_option("--tls-key", serve_models.tls_key, "PEM private key of --tls-cert");
  serve_models_cmd->add_option("--auth-token-file", serve_models.auth_token_file,
                               "file whose first line is the bearer token every call must carry");
  serve_models_cmd
      ->add_option("--max-body-bytes", serve_models.max_body_bytes,
                   "largest request body accepted (413 over it)")
      ->check(CLI::Range(size_t(1), size_t(1) << 30))
      ->capture_default_str();
  serve_models_cmd
      ->add_option("--max-connections", serve_models.max_connections,
                   "connections served at once (one thread each; calls wait for their tokens)")
      ->check(CLI::Range(1, 4096))
      ->capture_default_str();

  std::string quantize_in, quantize_out, quantize_type;
  CLI::App* quantize_cmd = app.add_subcommand(
      "quantize",
      "write a llama GGUF file's weight matrices quantized, with the per-tensor types "
      "llama-quantize chooses for the same type (the file loads in llama.cpp too)");
  quantize_cmd->add_option("in", quantize_in, "F32, F16 or BF16 GGUF file")->required();
  quantize_cmd->add_option("out", quantize_out, "GGUF file to write")->required();
  quantize_cmd
      ->add_option("--type", quantize_type,
                   "F16, BF16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q2_K, Q3_K_S, Q3_K_M (Q3_K), "
                   "Q3_K_L, Q4_K_S, Q4_K_M (Q4_K), Q5_K_S, Q5_K_M (Q5_K), Q6_K")
      ->required();

  std::vector<std::string> validate_files, sets;
  std::string config;
  CLI::App* validate_cmd =
      app.add_subcommand("validate", "check pipeline files and report every problem");
  validate_cmd->add_option("pipelines", validate_files, "pipeline YAML files")->required();
  validate_cmd->add_option("--set", sets, "override an option: node.key=value; repeatable");
  validate_cmd->add_option("--config", config, "runtime config file");

  std::string describe_file;
  bool dot = false;
  CLI::App* describe_cmd = app.add_subcommand(
      "describe", "print a pipeline's nodes (options after defaults), edges and execution order");
  describe_cmd->add_option("pipeline", describe_file, "pipeline YAML file")->required();
  describe_cmd->add_flag("--dot", dot, "print Graphviz DOT instead");
  describe_cmd->add_option("--set", sets, "override an option: node.key=value; repeatable");
  describe_cmd->add_option("--config", config, "runtime config file");

  std::string node_type;
  CLI::App* nodes_cmd =
      app.add_subcommand("nodes", "list registered node types with their options and defaults");
  nodes_cmd->add_option("type", node_type, "show only this type");

  std::string report_json, report_html;
  CLI::App* report_cmd =
      app.add_subcommand("report", "render a saved JSON run report (run --report) as an HTML page");
  report_cmd->add_option("json", report_json, "JSON run report")->required();
  report_cmd->add_option("--html", report_html, "HTML file to write")->required();

  std::string compare_before, compare_after;
  CLI::App* compare_cmd = app.add_subcommand(
      "compare",
      "two saved run reports side by side: tokens, latency, passes and failures per request type, "
      "p95 and busy time per node");
  compare_cmd->add_option("before", compare_before, "JSON run report (the baseline)")->required();
  compare_cmd->add_option("after", compare_after, "JSON run report (the new run)")->required();

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return 2;
  }

  auto logger = spdlog::stderr_color_mt("refinery");
  spdlog::set_default_logger(logger);
  spdlog::set_level(spdlog::level::from_str(log_level));

  if (*run_cmd) return refinery::cli::RunCommand(run);
  if (*validate_cmd) return refinery::cli::ValidateCommand(validate_files, sets, config);
  if (*describe_cmd) return refinery::cli::DescribeCommand(describe_file, sets, config, dot);
  if (*nodes_cmd) return refinery::cli::NodesCommand(node_type);
  if (*report_cmd) return refinery::cli::ReportCommand(report_json, report_html);
  if (*serve_cmd) return refinery::cli::ServeCommand(serve);
  if (*call_cmd) return refinery::cli::CallCommand(call);
  if (*serve_models_cmd) return refinery::cli::ServeModelsCommand(serve_models);
  if (*quantize_cmd)
    return refinery::cli::QuantizeCommand(quantize_in, quantize_out, quantize_type);
  if (*work_cmd) {
    if (!worker_config.empty()) {
      refinery::Status applied = refinery::cli::ApplyWorkerConfig(
          worker_config, [&](const std::string& flag) { return work_cmd->count(flag) > 0; }, &work);
      if (!applied.ok()) {
        std::cerr << applied.message();
        if (applied.message().empty() || applied.message().back() != '\n') std::cerr << "\n";
        return 2;
      }
    }
    return refinery::cli::WorkCommand(work);
  }
  if (*compare_cmd) return refinery::cli::CompareCommand(compare_before, compare_after);
  return 2;
}

// graph-runner: validate, inspect and run refinery pipelines. See docs/graph-runner.md.
#include <spdlog/cfg/helpers.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>

#include "tools/graph-runner/commands.h"

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
  run_cmd->add_option("--max-line-bytes", run.max_line_bytes, "longest input line accepted")
      ->capture_default_str();

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
  if (*compare_cmd) return refinery::cli::CompareCommand(compare_before, compare_after);
  return 2;
}

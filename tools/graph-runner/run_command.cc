// graph-runner run: stream requests through a pipeline.
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <thread>

#include "graph/engine.h"
#include "graph/io/json_io.h"
#include "graph/monitor/monitor.h"
#include "graph/monitor/views/html_report.h"
#include "graph/monitor/views/metrics_server.h"
#include "graph/monitor/views/prometheus.h"
#include "tools/graph-runner/commands.h"
#include "tools/graph-runner/duplicate_ids.h"
#include "tools/graph-runner/input_reader.h"
#include "tools/graph-runner/live_view.h"
#include "tools/graph-runner/result_writer.h"
#include "tools/graph-runner/summary_table.h"

namespace refinery::cli {

namespace {

// --output must not be one of the inputs (opening it for writing would destroy the input before
// it is read), and every file the run writes at its end must be writable now, not after the run.
Status CheckOutputPaths(const RunArgs& args) {
  struct stat out {};
  if (args.output != "-" && ::stat(args.output.c_str(), &out) == 0 && S_ISREG(out.st_mode)) {
    for (const std::string& input : args.inputs) {
      struct stat in {};
      if (input != "-" && ::stat(input.c_str(), &in) == 0 && in.st_dev == out.st_dev &&
          in.st_ino == out.st_ino) {
        return Status::InvalidArgument(args.output + ": error: --output is the input file " +
                                       input + "; writing it would destroy the input");
      }
    }
  }
  for (const std::string* path : {&args.report, &args.report_html}) {
    if (path->empty()) continue;
    const std::filesystem::path p(*path);
    const std::string dir = p.has_parent_path() ? p.parent_path().string() : ".";
    const bool exists = ::access(path->c_str(), F_OK) == 0;
    if (exists ? ::access(path->c_str(), W_OK) != 0 : ::access(dir.c_str(), W_OK) != 0) {
      return Status::InvalidArgument(
          *path + ": error: cannot write the report here: " + std::strerror(errno));
    }
  }
  return Status::Ok();
}

}  // namespace

namespace {

std::atomic<int> g_signals{0};
int g_stop_pipe[2] = {-1, -1};

void OnSignal(int) {
  // First signal: stop reading (the reader polls the pipe), let in-flight items finish.
  // Second: leave at once.
  if (g_signals.fetch_add(1) >= 1) _exit(130);
  char byte = 1;
  [[maybe_unused]] ssize_t n = ::write(g_stop_pipe[1], &byte, 1);
}

void InstallSignalHandlers() {
  if (g_stop_pipe[0] < 0 && ::pipe2(g_stop_pipe, O_CLOEXEC | O_NONBLOCK) != 0) {
    g_stop_pipe[0] = g_stop_pipe[1] = -1;
  }
  struct sigaction sa {};
  sa.sa_handler = OnSignal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
}

}  // namespace

int RunCommand(const RunArgs& args) {
  LoaderInputs loader;
  if (!LoadLoaderInputs(args.sets, args.config, &loader)) return 2;
  if (!args.alerts.empty()) {
    if (!loader.config.monitoring) loader.config.monitoring = MonitorConfig{};
    loader.config.monitoring->alerts.file = args.alerts;
  }
  InputFormat format = args.input_format == "jsonl"  ? InputFormat::kJsonLines
                       : args.input_format == "text" ? InputFormat::kText
                                                     : InputFormat::kAuto;
  EngineOptions options;
  options.ordered = args.ordered;
  options.threads = args.threads;
  auto engine = Engine::FromFile(args.pipeline, loader.overrides, loader.config, options);
  if (!engine.ok()) {
    std::cerr << engine.status().message();
    if (engine.status().message().back() != '\n') std::cerr << "\n";
    return 2;
  }
  // Regular files are read inside the engine (pull: reading is paced by back-pressure at no
  // thread cost). A pipe or terminal can block for as long as its writer likes, which must not
  // hold one of the engine's threads: it is read on this thread and submitted (push).
  bool all_files = true;
  for (const std::string& path : args.inputs) {
    struct stat st {};
    all_files = all_files && path != "-" && ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
  }
  // Output paths are checked before anything runs (and before --output truncates its file).
  if (Status s = CheckOutputPaths(args); !s.ok()) {
    std::cerr << s.message() << "\n";
    return 2;
  }
  auto writer = ResultWriter::Open(args.output, /*flush_each=*/!all_files);
  if (!writer.ok()) {
    std::cerr << writer.status().message() << "\n";
    return 2;
  }
  // The Prometheus endpoint serves for the whole run (and --metrics-linger seconds after it).
  std::unique_ptr<monitor::MetricsServer> metrics_server;
  if (args.metrics_port >= 0) {
    const Engine* e = engine->get();
    auto server = monitor::MetricsServer::Start(
        args.metrics_host, args.metrics_port,
        [e] { return monitor::FormatPrometheus(e->Stats(StatsDetail::kLive), e->pipeline_name()); },
        [] { return g_signals.load() == 0; });
    if (!server.ok()) {
      std::cerr << "error: " << server.status().message() << "\n";
      return 2;
    }
    metrics_server = std::move(server).value();
    std::fprintf(stderr, "metrics: http://%s:%d/metrics\n", args.metrics_host.c_str(),
                 metrics_server->port());
  }
  InstallSignalHandlers();
  InputReader reader(args.inputs, format, args.max_line_bytes, g_stop_pipe[0]);
  const auto start = std::chrono::steady_clock::now();
  int64_t requests = 0;
  int64_t input_errors = 0;
  DuplicateIds ids;
  std::string first_duplicate;  // "'id' at file:line", for the summary
  {
    std::unique_ptr<LiveView> live;
    if (args.progress && ::isatty(STDERR_FILENO))
      live = std::make_unique<LiveView>(**engine, reader);
    ResultWriter* out = writer->get();
    // Called by the engine, from one of its threads at a time, whenever it has room.
    auto next = [&](Request* request) {
      InputItem item;
      if (g_signals.load() != 0 || !reader.Next(&item)) return false;
      if (item.request) {
        *request = std::move(*item.request);
        if (ids.Seen(request->id)) {
          const std::string where = item.where.empty() ? "input" : item.where;
          if (first_duplicate.empty()) first_duplicate = "'" + request->id + "' at " + where;
          if (args.unique_ids) {
            request->input_error =
                where + ": error: id '" + request->id + "' was already used (--unique-ids)";
            request->fields.clear();
            ++input_errors;
            std::fprintf(stderr, "%s\n", request->input_error.c_str());
          }
        }
      } else {
        ids.Seen(item.fallback_id);
        request->id = item.fallback_id;
        request->input_error = item.error;
        ++input_errors;
        std::fprintf(stderr, "%s\n", item.error.c_str());
      }
      ++requests;
      return true;
    };
    auto write = [out](Result&& r) { out->Write(r); };
    if (all_files) {
      Status s = (*engine)->Run(next, write);
      if (!s.ok()) {
        std::cerr << "error: " << s.message() << "\n";
        return 2;
      }
    } else {
      Request request;
      while (next(&request)) {
        if (!(*engine)->Submit(std::move(request), write).ok()) break;
        request = Request{};
      }
      (*engine)->Drain();
    }
  }
  const Status written = (*writer)->Close();
  const double wall =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EngineStats stats = (*engine)->Stats();
  if (args.summary) {
    std::fputs(FormatSummary(stats, (*engine)->pipeline_name(), requests, wall).c_str(), stderr);
  }
  if (!written.ok()) std::cerr << written.message() << "\n";
  const Status alerts_written = (*engine)->monitor().SinkStatus();
  if (!alerts_written.ok()) std::cerr << alerts_written.message() << "\n";
  if (ids.duplicates() > 0) {
    std::fprintf(stderr,
                 "duplicate ids: %zu requests reused an earlier id (first: %s); their results "
                 "share the id%s\n",
                 ids.duplicates(), first_duplicate.c_str(),
                 args.unique_ids ? " and failed (--unique-ids)" : " (--unique-ids refuses them)");
  }
  if (ids.full()) {
    std::fprintf(stderr, "duplicate ids: only the first %zu distinct ids were checked\n",
                 ids.tracked());
  }
  const proto::RunReport run_report =
      BuildRunReport(stats, (*engine)->spec(), input_errors, wall, (*engine)->threads());
  if (!args.report.empty()) {
    std::ofstream report(args.report);
    report << MessageToJson(run_report, true) << "\n";
    report.close();  // checked after closing: a full disk shows at the flush
    if (!report) {
      std::cerr << args.report << ": error: cannot write the run report\n";
      return 2;
    }
  }
  if (!args.report_html.empty()) {
    std::ofstream html(args.report_html);
    html << monitor::RenderHtmlReport(run_report);
    html.close();
    if (!html) {
      std::cerr << args.report_html << ": error: cannot write the HTML report\n";
      return 2;
    }
  }
  const std::string& save_baseline = (*engine)->monitor().config().drift.save_baseline;
  if (!save_baseline.empty()) {
    Status saved = (*engine)->monitor().SaveBaselines(save_baseline);
    if (!saved.ok()) {
      std::cerr << saved.message() << "\n";
      return 2;
    }
  }
  if (metrics_server && args.metrics_linger > 0 && g_signals.load() == 0) {
    // Keep serving the final numbers for a last scrape (a signal ends the wait early).
    for (int i = 0; i < int(args.metrics_linger * 10) && g_signals.load() == 0; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }
  if (g_signals.load() > 0) {
    std::fprintf(stderr,
                 "interrupted: stopped reading after %lld requests; all of them have "
                 "results\n",
                 (long long)requests);
    return 130;
  }
  return stats.failed > 0 || !written.ok() || !alerts_written.ok() ? 1 : 0;
}

}  // namespace refinery::cli

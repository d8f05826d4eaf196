// graph-runner run: stream requests through a pipeline.
#include <fcntl.h>
#include <sys/stat.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <thread>

#include "graph/engine.h"
#include "graph/json_io.h"
#include "tools/graph-runner/commands.h"
#include "tools/graph-runner/input_reader.h"
#include "tools/graph-runner/result_writer.h"
#include "tools/graph-runner/summary_table.h"

namespace refinery::cli {

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

// Prints "done N | rate/s | ETA" on one stderr line while the run goes on.
class ProgressLine {
 public:
  ProgressLine(const Engine& engine, const InputReader& reader) : engine_(engine), reader_(reader) {
    thread_ = std::thread([this] { Loop(); });
  }
  ~ProgressLine() {
    {
      std::lock_guard lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    thread_.join();
    std::fprintf(stderr, "\r\033[K");
  }

 private:
  void Loop() {
    const auto start = std::chrono::steady_clock::now();
    std::unique_lock lock(mu_);
    while (!cv_.wait_for(lock, std::chrono::milliseconds(250), [&] { return stop_; })) {
      EngineStats s = engine_.Stats();
      double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      double rate = secs > 0 ? s.completed / secs : 0;
      double frac = reader_.Progress();
      std::string eta = "?";
      if (frac > 0.001 && frac < 1) eta = std::to_string(int(secs / frac - secs)) + "s";
      std::fprintf(stderr, "\r\033[K%lld done (%lld failed), %lld in flight, %.0f/s, %s%s ETA %s",
                   (long long)s.completed, (long long)s.failed, (long long)s.in_flight, rate,
                   frac >= 0 ? std::to_string(int(frac * 100)).c_str() : "", frac >= 0 ? "% read," : "",
                   eta.c_str());
      std::fflush(stderr);
    }
  }
  const Engine& engine_;
  const InputReader& reader_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace

int RunCommand(const RunArgs& args) {
  LoaderInputs loader;
  if (!LoadLoaderInputs(args.sets, args.config, &loader)) return 2;
  InputFormat format = args.input_format == "jsonl" ? InputFormat::kJsonLines
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
  auto writer = ResultWriter::Open(args.output, /*flush_each=*/!all_files);
  if (!writer.ok()) {
    std::cerr << writer.status().message() << "\n";
    return 2;
  }
  InstallSignalHandlers();
  InputReader reader(args.inputs, format, args.max_line_bytes, g_stop_pipe[0]);
  const auto start = std::chrono::steady_clock::now();
  int64_t requests = 0;
  int64_t input_errors = 0;
  {
    std::unique_ptr<ProgressLine> progress;
    if (args.progress && ::isatty(STDERR_FILENO)) progress = std::make_unique<ProgressLine>(**engine, reader);
    ResultWriter* out = writer->get();
    // Called by the engine, from one of its threads at a time, whenever it has room.
    auto next = [&](Request* request) {
      InputItem item;
      if (g_signals.load() != 0 || !reader.Next(&item)) return false;
      if (item.request) {
        *request = std::move(*item.request);
      } else {
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
  (*writer)->Flush();
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EngineStats stats = (*engine)->Stats();
  if (args.summary) {
    std::fputs(FormatSummary(stats, (*engine)->spec().name, requests, wall).c_str(), stderr);
  }
  if (!args.report.empty()) {
    std::ofstream report(args.report);
    report << MessageToJson(BuildRunReport(stats, (*engine)->spec(), input_errors, wall, (*engine)->threads()), true) << "\n";
    if (!report) {
      std::cerr << args.report << ": error: cannot write the run report\n";
      return 2;
    }
  }
  if (g_signals.load() > 0) {
    std::fprintf(stderr, "interrupted: stopped reading after %lld requests; all of them have "
                         "results\n", (long long)requests);
    return 130;
  }
  return stats.failed > 0 ? 1 : 0;
}

}  // namespace refinery::cli

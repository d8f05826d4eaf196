// graph-runner as a user runs it: exit codes, located errors, result lines, signals.
#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "tests/support/read_file.h"
#include "tests/support/set_up_material.h"

namespace {

using ::testing::HasSubstr;
using ::testing::Not;
namespace fs = std::filesystem;

struct Outcome {
  int rc = -1;
  std::string out;
  std::string err;
};

std::string Slurp(const fs::path& p) { return refinery::testing::ReadFile(p); }

class GraphRunner : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("graph-runner-test-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
    err_ = dir_ / "run-err.txt";
  }
  void TearDown() override { fs::remove_all(dir_); }

  fs::path Write(const std::string& name, const std::string& text) {
    fs::path p = dir_ / name;
    std::ofstream(p, std::ios::binary) << text;
    return p;
  }

  // Runs graph-runner with args (each already shell-quoted where needed).
  Outcome Run(const std::string& args, const std::string& stdin_text = "") {
    fs::path in = Write("stdin.txt", stdin_text);
    std::string cmd = std::string(GRAPH_RUNNER) + " " + args + " <" + in.string() + " >" +
                      (dir_ / "out.txt").string() + " 2>" + (dir_ / "err.txt").string();
    int status = std::system(cmd.c_str());
    Outcome o;
    o.rc = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    o.out = Slurp(dir_ / "out.txt");
    o.err = Slurp(dir_ / "err.txt");
    return o;
  }

  // `graph-runner run clean-text.yaml --metrics-port 0` reading a pipe: its pid, the pipe's
  // write end and the metrics port (0 when it never printed one; stderr in err_).
  struct LiveRun {
    pid_t pid = -1;
    int input = -1;
    int port = 0;
  };
  LiveRun StartRunWithMetrics() {
    LiveRun run;
    int in_pipe[2];
    if (::pipe(in_pipe) != 0) return run;
    const fs::path out = dir_ / "out.jsonl", err = err_;
    run.pid = ::fork();
    if (run.pid == 0) {
      ::dup2(in_pipe[0], 0);
      ::close(in_pipe[1]);
      int fd = ::open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      ::dup2(fd, 1);
      int efd = ::open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      ::dup2(efd, 2);
      std::string pipeline = pipelines_ + "/clean-text.yaml";
      ::execl(GRAPH_RUNNER, GRAPH_RUNNER, "run", pipeline.c_str(), "--metrics-port", "0", nullptr);
      ::_exit(99);
    }
    ::close(in_pipe[0]);
    run.input = in_pipe[1];
    for (int tries = 0; tries < 1500 && run.port == 0; ++tries) {
      const std::string e = Slurp(err);
      const size_t at = e.find("metrics: http://127.0.0.1:");
      if (at != std::string::npos && e.find("/metrics", at + 26) != std::string::npos)
        run.port = std::stoi(e.substr(at + 26));
      else
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return run;
  }

  static int Lines(const std::string& s) { return int(std::count(s.begin(), s.end(), '\n')); }
  static std::vector<std::string> SplitLines(const std::string& s) {
    std::vector<std::string> lines;
    std::istringstream in(s);
    for (std::string l; std::getline(in, l);) lines.push_back(l);
    return lines;
  }

  fs::path dir_;
  fs::path err_;  // stderr of StartRunWithMetrics
  const std::string pipelines_ = std::string(PROJECT_DIR) + "/pipelines";
};

TEST_F(GraphRunner, MainJobRunsOnTheBundledSample) {
  Outcome o = Run("run " + pipelines_ + "/clean-text.yaml --input " + pipelines_ +
                  "/samples/requests.jsonl");
  EXPECT_EQ(o.rc, 0) << o.err;
  std::ifstream sample(pipelines_ + "/samples/requests.jsonl");
  int requests = 0;
  for (std::string line; std::getline(sample, line);) requests += !line.empty();
  EXPECT_EQ(Lines(o.out), requests);
  EXPECT_THAT(o.out, HasSubstr("\"status\":\"ok\""));
  EXPECT_THAT(o.err, HasSubstr("node"));  // the per-node table
  EXPECT_THAT(o.err, HasSubstr("p95"));
  EXPECT_THAT(o.err, HasSubstr("dedup"));
}

TEST_F(GraphRunner, EmptyIdsAreErrorsAndRepeatedIdsAreFlaggedOrRefused) {
  fs::path input = Write("in.jsonl",
                         "{\"id\":\"a\",\"text\":\"one\"}\n"
                         "{\"id\":\"\",\"text\":\"empty id\"}\n"
                         "{\"id\":\"a\",\"text\":\"again\"}\n"
                         "{\"text\":\"no id: line 4\"}\n"
                         "{\"id\":\"4\",\"text\":\"collides with line 4\"}\n");
  // Default: the empty id fails its line; the repeats run and the summary flags them.
  Outcome o = Run("run " + pipelines_ + "/clean-text.yaml --ordered --input " + input.string());
  EXPECT_EQ(o.rc, 1) << o.err;
  std::vector<std::string> lines = SplitLines(o.out);
  ASSERT_EQ(lines.size(), 5u) << o.out;
  EXPECT_THAT(lines[1], HasSubstr("in.jsonl:2: error: not a valid request: \\\"id\\\" is empty"));
  EXPECT_THAT(lines[2], HasSubstr("\"id\":\"a\",\"type\":\"\",\"status\":\"ok\""));
  EXPECT_THAT(lines[4], HasSubstr("\"id\":\"4\",\"type\":\"\",\"status\":\"ok\""));
  EXPECT_THAT(o.err, HasSubstr("duplicate ids: 2 requests reused an earlier id (first: 'a' at " +
                               input.string() + ":3)"));

  // --unique-ids: the later uses fail with their location; the first ones still run.
  o = Run("run " + pipelines_ + "/clean-text.yaml --ordered --unique-ids --input " +
          input.string());
  EXPECT_EQ(o.rc, 1);
  lines = SplitLines(o.out);
  ASSERT_EQ(lines.size(), 5u) << o.out;
  EXPECT_THAT(lines[0], HasSubstr("\"status\":\"ok\""));
  EXPECT_THAT(lines[2], HasSubstr("in.jsonl:3: error: id 'a' was already used (--unique-ids)"));
  EXPECT_THAT(lines[3], HasSubstr("\"status\":\"ok\""));
  EXPECT_THAT(lines[4], HasSubstr("in.jsonl:5: error: id '4' was already used"));
}

TEST_F(GraphRunner, WorkerConfigMistakesAreLocatedErrorsBeforeAnyConnection) {
  fs::path config = Write("worker.yaml",
                          "work:\n"
                          "  source: amqp://127.0.0.1:1/amq/queue/a\n"
                          "  max_inflight: 8\n"
                          "  password: hunter2\n"
                          "  drain_seconds: [1, 2]\n"
                          "  max_deliveries: 0\n"
                          "  verify_sink: maybe\n");
  Outcome o = Run("work " + pipelines_ + "/clean-text.yaml --worker-config " + config.string());
  EXPECT_EQ(o.rc, 2) << o.err;
  const std::string file = config.string();
  EXPECT_THAT(o.err, HasSubstr(file + ":3:3"));
  EXPECT_THAT(o.err, HasSubstr("did you mean 'max_in_flight'"));
  EXPECT_THAT(o.err, HasSubstr(file + ":4:3"));
  EXPECT_THAT(o.err, HasSubstr("secrets never go in a file"));
  EXPECT_THAT(o.err, Not(HasSubstr("hunter2")));
  EXPECT_THAT(o.err, HasSubstr(file + ":5:18: error: work.drain_seconds: expected a single value"));
  EXPECT_THAT(o.err, HasSubstr("work.max_deliveries: 0 is outside"));
  EXPECT_THAT(o.err, HasSubstr("work.verify_sink: expected true or false, got 'maybe'"));
  EXPECT_THAT(o.err, Not(HasSubstr("cannot connect"))) << "checked before connecting";

  // No sink anywhere: named, exit 2.
  fs::path partial = Write("partial.yaml", "work:\n  source: amqp://127.0.0.1:1/amq/queue/a\n");
  o = Run("work " + pipelines_ + "/clean-text.yaml --worker-config " + partial.string());
  EXPECT_EQ(o.rc, 2);
  EXPECT_THAT(o.err, HasSubstr("needs --source and --sink"));
}

TEST_F(GraphRunner, ShippedWorkerConfigsLoadAndFlagsOverrideThem) {
  // Every configs/worker-*.yaml parses; --source/--sink on the command line win over the file,
  // so this run only ever tries 127.0.0.1 (nothing listens on port 1): exit 2 naming it.
  int checked = 0;
  for (const auto& entry : fs::directory_iterator(std::string(PROJECT_DIR) + "/configs")) {
    const std::string name = entry.path().filename().string();
    if (name.rfind("worker-", 0) != 0) continue;
    ++checked;
    const std::string env = "SB_KEY=k REFINERY_AMQP_PASSWORD=k ";
    const std::string url = "amqp://someone@127.0.0.1:1/amq/queue/";
    int status = std::system((env + GRAPH_RUNNER + " work " + pipelines_ +
                              "/clean-text.yaml --worker-config " + entry.path().string() +
                              " --source " + url + "a --sink " + url + "b --connect-timeout 0.5 " +
                              "--metrics-port -1 2>" + (dir_ / "err.txt").string())
                                 .c_str());
    const std::string err = Slurp(dir_ / "err.txt");
    EXPECT_EQ(WEXITSTATUS(status), 2) << name << ":\n" << err;
    EXPECT_THAT(err, HasSubstr("cannot connect to amqp://someone@127.0.0.1:1/amq/queue/a"))
        << name << ":\n"
        << err;
  }
  EXPECT_GE(checked, 2) << "configs/worker-rabbitmq.yaml and configs/worker-servicebus.yaml";
}

TEST_F(GraphRunner, BadInputLinesGetErrorResultsAndTheRestRuns) {
  fs::path input = Write("in.jsonl",
                         "{\"id\":\"a\",\"text\":\"one\"}\n"
                         "this is not json\n"
                         "\n"
                         "{\"text\":\"no id\"}\n"
                         "{\"id\":\"x\",\"txt\":\"typo\"}\n"
                         "{\"id\":\"b\"}\n");
  Outcome o = Run("run " + pipelines_ + "/clean-text.yaml --ordered --input " + input.string());
  EXPECT_EQ(o.rc, 1);
  std::vector<std::string> lines;
  std::istringstream s(o.out);
  for (std::string l; std::getline(s, l);) lines.push_back(l);
  ASSERT_EQ(lines.size(), 5u) << o.out;
  EXPECT_THAT(lines[0], HasSubstr("\"id\":\"a\",\"type\":\"\",\"status\":\"ok\""));
  EXPECT_THAT(lines[1], HasSubstr("\"id\":\"2\""));
  EXPECT_THAT(lines[1], HasSubstr("in.jsonl:2: error: not a valid request"));
  EXPECT_THAT(lines[2], HasSubstr("\"id\":\"4\",\"type\":\"\",\"status\":\"ok\""));  // id = line
  EXPECT_THAT(lines[3], HasSubstr("in.jsonl:5: error"));
  EXPECT_THAT(lines[3], HasSubstr("txt"));
  EXPECT_THAT(lines[4], HasSubstr("missing required field 'text'"));
  EXPECT_THAT(o.err, HasSubstr("in.jsonl:2: error"));
}

TEST_F(GraphRunner, BadPipelineExitsTwoWithEveryLocatedError) {
  fs::path p = Write("bad.yaml",
                     "pipeline: x\nnodes:\n  - {id: a, type: normalise}\n  - {id: b, "
                     "type: dedupe, min_chars: -1}\n");
  Outcome o = Run("run " + p.string());
  EXPECT_EQ(o.rc, 2);
  EXPECT_THAT(o.err, HasSubstr(p.string() + ":3:19: error: node 'a': unknown node type"));
  EXPECT_THAT(o.err, HasSubstr(p.string() + ":4:38: error: node 'b' (dedupe): option 'min_chars'"));
  EXPECT_TRUE(o.out.empty());
}

TEST_F(GraphRunner, MissingVocabularyExitsTwoWithTheFileName) {
  Outcome o = Run("run " + pipelines_ +
                  "/fit-context.yaml --set cut.vocab_dir=/nonexistent-vocab "
                  "--input " +
                  pipelines_ + "/samples/requests.jsonl");
  EXPECT_EQ(o.rc, 2);
  EXPECT_THAT(o.err, HasSubstr("/nonexistent-vocab/cl100k_base.tiktoken"));
}

TEST_F(GraphRunner, HostileFilesExitTwo) {
  std::string garbage;
  for (int i = 0; i < 4096; ++i) garbage += char((i * 131) & 0xFF);
  EXPECT_EQ(Run("validate " + Write("garbage.yaml", garbage).string()).rc, 2);
  EXPECT_EQ(Run("validate " + Write("deep.yaml", std::string(200000, '[')).string()).rc, 2);
  Outcome dir = Run("validate " + dir_.string());
  EXPECT_EQ(dir.rc, 2);
  EXPECT_THAT(dir.err, HasSubstr("is a directory"));
  Outcome missing = Run("run /no/such/pipeline.yaml");
  EXPECT_EQ(missing.rc, 2);
  EXPECT_THAT(missing.err, HasSubstr("no such file"));
}

TEST_F(GraphRunner, ValidateReportsEachFile) {
  fs::path bad = Write("bad.yaml", "pipeline: x\nnodes: []\n");
  Outcome o = Run("validate " + pipelines_ + "/clean-text.yaml " + bad.string());
  EXPECT_EQ(o.rc, 2);
  EXPECT_THAT(o.out, HasSubstr("clean-text.yaml: ok: pipeline 'clean-text', 4 nodes"));
  EXPECT_THAT(o.err, HasSubstr("bad.yaml:2:8: error: empty pipeline"));
  EXPECT_EQ(Run("validate " + pipelines_ + "/clean-text.yaml").rc, 0);
}

// validate knows everything run knows from the file: a loop naming a field no node writes fails
// both with the same located errors (before, validate said "ok").
TEST_F(GraphRunner, ValidateAndRunAgreeOnLoopFields) {
  fs::path bad =
      Write("loop.yaml",
            "pipeline: x\nnodes:\n  - {id: size, type: measure}\nloops:\n"
            "  - {from: size, to: size, until: \"size.nonexistent > 1\", metric: size.nope}\n");
  fs::path input = Write("in.jsonl", "{\"id\": \"a\", \"text\": \"hello\"}\n");
  Outcome validated = Run("validate " + bad.string());
  Outcome ran = Run("run " + bad.string() + " --input " + input.string());
  EXPECT_EQ(validated.rc, 2);
  EXPECT_EQ(ran.rc, 2);
  for (const Outcome* o : {&validated, &ran}) {
    EXPECT_THAT(o->err,
                HasSubstr("loop.yaml:5:35: error: loop condition names field 'size.nonexistent'"));
    EXPECT_THAT(o->err, HasSubstr("loop.yaml:5:67: error: loop metric names field 'size.nope'"));
  }
}

// A loop condition nested 20,000 deep is a located error for validate and run alike (it used to
// crash validate with '(' and run with `not `).
TEST_F(GraphRunner, DeeplyNestedConditionsAreLocatedErrors) {
  std::string nots;
  for (int i = 0; i < 20'000; ++i) nots += "not ";
  for (const std::string& until : {std::string(20'000, '(') + "size.chars", nots + "size.chars"}) {
    fs::path bad = Write("deep.yaml",
                         "pipeline: x\nnodes:\n  - {id: size, type: measure}\nloops:\n"
                         "  - {from: size, to: size, until: \"" +
                             until + "\"}\n");
    fs::path input = Write("in.jsonl", "{\"id\": \"a\", \"text\": \"hello\"}\n");
    for (const std::string& command :
         {"validate " + bad.string(), "run " + bad.string() + " --input " + input.string()}) {
      Outcome o = Run(command);
      EXPECT_EQ(o.rc, 2) << command;
      EXPECT_THAT(o.err, HasSubstr("deep.yaml:5:35: error: loop: 'until': at column "));
      EXPECT_THAT(o.err, HasSubstr("nested deeper than 256"));
      EXPECT_LT(o.err.size(), 2000u) << "the message does not echo the whole condition";
    }
  }
}

// A FIFO named where a file is read (a model, a vocabulary, a drift baseline) is refused at once
// instead of blocking the process forever in open() (issue 19, class 4).
TEST_F(GraphRunner, FifosWhereFilesBelongAreRefusedNotWaitedOn) {
  const fs::path dir = dir_ / "fifo";
  fs::create_directories(dir);
  const fs::path fifo = dir / "cl100k_base.tiktoken";
  fs::remove(fifo);
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0) << std::strerror(errno);
  fs::path input = Write("in.jsonl", "{\"id\": \"a\", \"text\": \"hello\"}\n");
  fs::path model =
      Write("model.yaml",
            "pipeline: x\nnodes:\n  - {id: llm, type: infer, model: " + fifo.string() + "}\n");
  fs::path vocab = Write("vocab.yaml",
                         "pipeline: x\nnodes:\n  - {id: tok, type: tokenize, "
                         "vocab_dir: " +
                             dir.string() + "}\n");
  fs::path config = Write("drift.yaml",
                          "monitoring:\n  drift: {metrics: [tokens_out], "
                          "baseline_file: " +
                              fifo.string() + "}\n");
  for (const std::string& command : {"run " + model.string() + " --input " + input.string(),
                                     "run " + vocab.string() + " --input " + input.string(),
                                     "run " + pipelines_ + "/clean-text.yaml --config " +
                                         config.string() + " --input " + input.string()}) {
    Outcome o = Run(command);
    EXPECT_EQ(o.rc, 2) << command << "\n" << o.err;
    EXPECT_THAT(o.err, HasSubstr("not a regular file")) << command;
  }
}

// Results that cannot be written are an error, never a silent exit 0 (issue 19, class 3):
// --output on a full device, --output naming the input, a report path that cannot be written.
TEST_F(GraphRunner, LostResultsAndUnwritableOutputsAreErrors) {
  std::string lines;
  for (int i = 0; i < 2000; ++i)
    lines += "{\"id\": \"r" + std::to_string(i) + "\", \"text\": \"x\"}\n";
  fs::path input = Write("many.jsonl", lines);
  const std::string pipeline = pipelines_ + "/clean-text.yaml";

  Outcome full = Run("run " + pipeline + " --input " + input.string() + " --output /dev/full");
  EXPECT_EQ(full.rc, 1) << full.err;
  EXPECT_THAT(full.err, HasSubstr("/dev/full: error: 2000 of 2000 results were not written"));
  EXPECT_THAT(full.err, HasSubstr("No space left on device"));

  Outcome same =
      Run("run " + pipeline + " --input " + input.string() + " --output " + input.string());
  EXPECT_EQ(same.rc, 2);
  EXPECT_THAT(same.err, HasSubstr("--output is the input file"));
  EXPECT_EQ(fs::file_size(input), lines.size()) << "the input is untouched";

  fs::path out = dir_ / "never.jsonl";
  Outcome report = Run("run " + pipeline + " --input " + input.string() + " --output " +
                       out.string() + " --report " + (dir_ / "no/such/dir/r.json").string());
  EXPECT_EQ(report.rc, 2);
  EXPECT_THAT(report.err, HasSubstr("r.json: error: cannot write the report here"));
  EXPECT_FALSE(fs::exists(out)) << "refused before the run, not after it";

  Outcome ok = Run("run " + pipeline + " --input " + input.string() + " --output " + out.string());
  EXPECT_EQ(ok.rc, 0) << ok.err;
}

// A text-mode input is read up to --max-line-bytes: /dev/zero is one error result, not a process
// that grows until it aborts (issue 19, class 2).
TEST_F(GraphRunner, EndlessTextInputIsAnErrorResultNotUnboundedMemory) {
  Outcome o = Run("run " + pipelines_ + "/clean-text.yaml --input-format text --input /dev/zero " +
                  "--max-line-bytes 1048576");
  EXPECT_EQ(o.rc, 1) << o.err;
  EXPECT_THAT(o.err, HasSubstr("/dev/zero: error: text input is larger than 1048576 bytes"));
  EXPECT_THAT(o.out, HasSubstr("\"id\":\"/dev/zero\""));
}

// A node that cannot be built says where and which node once, and keeps the error's code.
TEST_F(GraphRunner, NodeBuildErrorsNameTheNodeOnce) {
  fs::path bad =
      Write("llm.yaml",
            "pipeline: x\nnodes:\n  - {id: llm, type: infer, model: ./does-not-exist.gguf}\n");
  fs::path input = Write("in.jsonl", "{\"id\": \"a\", \"text\": \"hello\"}\n");
  Outcome o = Run("run " + bad.string() + " --input " + input.string());
  EXPECT_EQ(o.rc, 2);
  EXPECT_THAT(o.err, HasSubstr("llm.yaml:3:5: error: node 'llm' (infer): "));
  EXPECT_THAT(o.err, HasSubstr("does-not-exist.gguf: cannot open"));
  EXPECT_THAT(o.err, Not(HasSubstr("node 'llm': ")));
}

TEST_F(GraphRunner, SetOverridesAreValidated) {
  Outcome bad = Run("validate " + pipelines_ + "/clean-text.yaml --set dedup.min_chars=many");
  EXPECT_EQ(bad.rc, 2);
  EXPECT_THAT(bad.err, HasSubstr("--set dedup.min_chars=many: error: node 'dedup' (dedupe): option "
                                 "'min_chars' must be an integer"));
  // An empty field name validated and then failed every request (issue 19, class 6).
  Outcome empty = Run("validate " + pipelines_ + "/clean-text.yaml --set dedup.field=");
  EXPECT_EQ(empty.rc, 2);
  EXPECT_THAT(empty.err, HasSubstr("--set dedup.field=: error: node 'dedup' (dedupe): option "
                                   "'field' must not be empty"));
  Outcome good = Run("describe " + pipelines_ + "/clean-text.yaml --set dedup.min_chars=3");
  EXPECT_EQ(good.rc, 0);
  EXPECT_THAT(good.out, HasSubstr("min_chars: 3"));
}

TEST_F(GraphRunner, DescribeDotAndNodes) {
  Outcome dot = Run("describe --dot " + pipelines_ + "/clean-text.yaml");
  EXPECT_EQ(dot.rc, 0);
  EXPECT_THAT(dot.out, HasSubstr("digraph \"clean-text\""));
  EXPECT_THAT(dot.out, HasSubstr("\"clean\" -> \"dedup\";"));
  Outcome nodes = Run("nodes");
  EXPECT_EQ(nodes.rc, 0);
  EXPECT_THAT(nodes.out, HasSubstr("normalize (version 1)"));
  EXPECT_THAT(nodes.out, HasSubstr("max_blank_lines"));
  EXPECT_EQ(Run("nodes nromalize").rc, 2);
}

TEST_F(GraphRunner, QueuesDeadlinesAndParallelGroups) {
  fs::path pipeline =
      Write("q.yaml",
            "pipeline: q\nnodes:\n  - {id: slow, type: delay, mode: spin, micros: 30000, "
            "concurrency: serial, queue: {order: priority}}\n");
  fs::path input = Write("in.jsonl",
                         "{\"id\":\"a\",\"text\":\"x\"}\n"
                         "{\"id\":\"b\",\"text\":\"x\",\"deadline_ms\":1}\n"
                         "{\"id\":\"c\",\"text\":\"x\",\"deadline_ms\":-5}\n");
  Outcome o =
      Run("run " + pipeline.string() + " --ordered --no-progress --input " + input.string());
  EXPECT_EQ(o.rc, 1) << o.err;
  std::vector<std::string> lines;
  std::istringstream s(o.out);
  for (std::string l; std::getline(s, l);) lines.push_back(l);
  ASSERT_EQ(lines.size(), 3u) << o.out;
  EXPECT_THAT(lines[0], HasSubstr("\"status\":\"ok\""));
  EXPECT_THAT(lines[1], HasSubstr("deadline passed"));
  EXPECT_THAT(lines[2], HasSubstr("deadline_ms must be a number of milliseconds >= 0"));
  EXPECT_THAT(o.err, HasSubstr("queue slow (priority)"));

  Outcome d = Run("describe " + pipelines_ + "/summarize-alternatives.yaml");
  EXPECT_EQ(d.rc, 0) << d.err;
  EXPECT_THAT(d.out, HasSubstr("keeps the branch with the highest value of its keep_best field"));
  EXPECT_THAT(d.out, HasSubstr("textrank (score_tr.total): textrank (summarize) score_tr (score)"));
  Outcome dot = Run("describe --dot " + pipelines_ + "/summarize-alternatives.yaml");
  EXPECT_THAT(dot.out, HasSubstr("\"best\" -> \"centroid\" [style=dashed];"));
  Outcome infer = Run("describe " + pipelines_ + "/refine-infer.yaml");
  EXPECT_THAT(infer.out,
              HasSubstr("queue: priority order, batches up to 8 items, delay 2 ms (adapted)"));
}

TEST_F(GraphRunner, ArgumentErrorsExitTwoAndHelpExitsZero) {
  EXPECT_EQ(Run("run").rc, 2);
  EXPECT_EQ(Run("run x.yaml --threads=-3").rc, 2);
  EXPECT_EQ(Run("frobnicate").rc, 2);
  Outcome help = Run("run --help");
  EXPECT_EQ(help.rc, 0);
  EXPECT_THAT(help.out, HasSubstr("--ordered"));
}

TEST_F(GraphRunner, ReportIsWritten) {
  fs::path report = dir_ / "report.json";
  Outcome o = Run("run " + pipelines_ + "/clean-text.yaml --no-summary --report " + report.string(),
                  "{\"id\":\"1\",\"text\":\"a  b\"}\n{\"id\":\"2\",\"text\":\"a  b\"}\n");
  EXPECT_EQ(o.rc, 0) << o.err;
  std::string json = Slurp(report);
  EXPECT_THAT(json, HasSubstr("\"pipeline\": \"clean-text\""));
  EXPECT_THAT(json, HasSubstr("\"succeeded\": \"2\""));
  EXPECT_THAT(json, HasSubstr("\"hit_rate\""));
}

TEST_F(GraphRunner, SigintStopsReadingFinishesInFlightAndExits130) {
  int in_pipe[2];
  ASSERT_EQ(::pipe(in_pipe), 0);
  fs::path out = dir_ / "out.jsonl";
  pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(in_pipe[0], 0);
    ::close(in_pipe[1]);
    int fd = ::open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ::dup2(fd, 1);
    int devnull = ::open("/dev/null", O_WRONLY);
    ::dup2(devnull, 2);
    std::string pipeline = pipelines_ + "/clean-text.yaml";
    ::execl(GRAPH_RUNNER, GRAPH_RUNNER, "run", pipeline.c_str(), "--input", "-", nullptr);
    ::_exit(99);
  }
  ::close(in_pipe[0]);
  std::string lines;
  for (int i = 0; i < 100; ++i) lines += "{\"id\":\"" + std::to_string(i) + "\",\"text\":\"x\"}\n";
  ASSERT_EQ(::write(in_pipe[1], lines.data(), lines.size()), ssize_t(lines.size()));
  // The input stays open (graph-runner waits for more), yet every result must stream out.
  for (int tries = 0; tries < 1500 && Lines(Slurp(out)) < 100; ++tries) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_EQ(Lines(Slurp(out)), 100) << "results did not stream while the input was open";
  ::kill(pid, SIGINT);
  int status = 0;
  ::waitpid(pid, &status, 0);
  ::close(in_pipe[1]);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 130);
  EXPECT_EQ(Lines(Slurp(out)), 100);
}

TEST_F(GraphRunner, SigintDuringAFileRunWritesAResultForEveryRequestRead) {
  fs::path pipeline = Write("slow.yaml",
                            "pipeline: slow\nmax_in_flight: 16\nnodes:\n"
                            "  - {id: slow, type: delay, micros: 200, concurrency: serial}\n");
  std::string lines;
  for (int i = 0; i < 100000; ++i)
    lines += "{\"id\":\"" + std::to_string(i) + "\",\"text\":\"x\"}\n";
  fs::path input = Write("big.jsonl", lines);
  fs::path out = dir_ / "out.jsonl", err = dir_ / "err.txt";
  pid_t pid = ::fork();
  if (pid == 0) {
    int fd = ::open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ::dup2(fd, 1);
    int efd = ::open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ::dup2(efd, 2);
    ::execl(GRAPH_RUNNER, GRAPH_RUNNER, "run", pipeline.c_str(), "--input", input.c_str(), nullptr);
    ::_exit(99);
  }
  // Signal once results are flowing (however slow the build: sanitizers start slowly).
  for (int tries = 0; tries < 1500 && Lines(Slurp(out)) < 10; ++tries) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ::kill(pid, SIGTERM);
  int status = 0;
  ::waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 130);
  std::string e = Slurp(err);
  size_t at = e.find("stopped reading after ");
  ASSERT_NE(at, std::string::npos) << e;
  long read = std::stol(e.substr(at + 22));
  EXPECT_GT(read, 0);
  EXPECT_LT(read, 100000);
  EXPECT_EQ(Lines(Slurp(out)), read);  // every request read has its result, none lost
}

TEST_F(GraphRunner, MetricsEndpointServesWhileRunning) {
  LiveRun run = StartRunWithMetrics();
  const pid_t pid = run.pid;
  const int port = run.port;
  int in_pipe[2] = {-1, run.input};
  const fs::path out = dir_ / "out.jsonl", err = err_;
  ASSERT_GT(port, 0) << Slurp(err);
  std::string lines;
  for (int i = 0; i < 20; ++i)
    lines += "{\"id\":\"" + std::to_string(i) + "\",\"type\":\"t\",\"text\":\"x  y\"}\n";
  ASSERT_EQ(::write(in_pipe[1], lines.data(), lines.size()), ssize_t(lines.size()));
  for (int tries = 0; tries < 1500 && Lines(Slurp(out)) < 20; ++tries) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  httplib::Client client("127.0.0.1", port);
  auto metrics = client.Get("/metrics");
  auto health = client.Get("/healthz");
  ::kill(pid, SIGINT);
  int status = 0;
  ::waitpid(pid, &status, 0);
  ::close(in_pipe[1]);
  ASSERT_TRUE(metrics);
  EXPECT_EQ(metrics->status, 200);
  // Scraped while the run was live (its input still open): the numbers so far.
  EXPECT_THAT(
      metrics->body,
      HasSubstr("refinery_requests_completed_total{pipeline=\"clean-text\",status=\"ok\"} 20"));
  EXPECT_THAT(metrics->body, HasSubstr("refinery_request_type_results_total{pipeline=\"clean-"
                                       "text\",request_type=\"t\",status=\"ok\"} 20"));
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);
  EXPECT_EQ(WEXITSTATUS(status), 130);
}

TEST_F(GraphRunner, SlowMetricsClientsNeitherStarveScrapesNorHoldUpTheExit) {
  LiveRun run = StartRunWithMetrics();
  ASSERT_GT(run.port, 0) << Slurp(err_);
  // Twelve clients that send a byte a second and never finish a request (more than httplib's
  // default pool of threads).
  std::vector<int> slow;
  for (int i = 0; i < 12; ++i) {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(uint16_t(run.port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    slow.push_back(fd);
  }
  std::atomic<bool> stop{false};
  std::thread dribble([&] {
    while (!stop) {
      for (int fd : slow) (void)::send(fd, "G", 1, MSG_NOSIGNAL);
      std::this_thread::sleep_for(std::chrono::seconds(1));
    }
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  httplib::Client client("127.0.0.1", run.port);
  client.set_read_timeout(5, 0);
  auto metrics = client.Get("/metrics");
  // The run ends (input closed) while the slow clients are still connected: the exit must not
  // wait for them (it took 52 s with httplib's pool).
  ::close(run.input);
  int status = 0;
  bool exited = false;
  for (int i = 0; i < 500 && !exited; ++i) {
    exited = ::waitpid(run.pid, &status, WNOHANG) == run.pid;
    if (!exited) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  stop = true;
  dribble.join();
  for (int fd : slow) ::close(fd);
  if (!exited) {
    ::kill(run.pid, SIGKILL);
    ::waitpid(run.pid, &status, 0);
  }
  ASSERT_TRUE(metrics) << "a scrape must be answered while slow clients are connected";
  EXPECT_EQ(metrics->status, 200);
  EXPECT_TRUE(exited) << "graph-runner still running 10 s after its input ended";
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << Slurp(err_);
}

TEST_F(GraphRunner, AlertsThatCannotBeWrittenFailTheRun) {
  // Every request succeeds, but each alert goes to a full disk: a lost alert is an error.
  fs::path config = Write("monitor.yaml",
                          "monitoring:\n  window: 5\n  min_requests: 5\n"
                          "  thresholds: {default: {latency_p95_ms: 0.000001}}\n");
  std::string input;
  for (int i = 0; i < 20; ++i)
    input += "{\"id\":\"" + std::to_string(i) + "\",\"text\":\"a  b\"}\n";
  Outcome o = Run(
      "run " + pipelines_ + "/clean-text.yaml --config " + config.string() + " --alerts /dev/full",
      input);
  EXPECT_EQ(o.rc, 1) << o.err;
  EXPECT_EQ(Lines(o.out), 20) << "every result was written";
  EXPECT_THAT(o.err, HasSubstr("alert [threshold latency_p95_ms]"));
  EXPECT_THAT(o.err, HasSubstr("/dev/full: error: 1 of 1 alerts were not written (No space left "
                               "on device)"));
  // The same run with a writable file exits 0 and the file holds the alert.
  fs::path alerts = dir_ / "alerts.jsonl";
  o = Run("run " + pipelines_ + "/clean-text.yaml --config " + config.string() + " --alerts " +
              alerts.string(),
          input);
  EXPECT_EQ(o.rc, 0) << o.err;
  EXPECT_THAT(Slurp(alerts), HasSubstr("\"rule\":\"latency_p95_ms\",\"state\":\"firing\""));
}

TEST_F(GraphRunner, HtmlReportAlertsAndTheReportCommand) {
  fs::path config = Write("monitor.yaml",
                          "monitoring:\n  window: 10\n  min_requests: 5\n"
                          "  thresholds: {default: {error_rate: 0.1}}\n");
  // A third of the requests lack the field the node reads: they fail, the rest pass.
  fs::path pipeline =
      Write("p.yaml", "pipeline: failing\nnodes:\n  - {id: m, type: measure, field: body}\n");
  std::string input;
  for (int i = 0; i < 20; ++i) {
    input += "{\"id\":\"" + std::to_string(i) + "\",\"type\":\"q\"," +
             (i % 3 ? "\"fields\":{\"body\":\"ok\"}}\n" : "\"text\":\"no body\"}\n");
  }
  fs::path json = dir_ / "r.json", html = dir_ / "r.html", alerts = dir_ / "alerts.jsonl";
  // --ordered: results reach the monitor in input order, so the error windows are the same on
  // every run (a third fail, every window of 10 holds 3 or 4: the alert fires once, never
  // resolves).
  Outcome o =
      Run("run " + pipeline.string() + " --ordered --config " + config.string() + " --report " +
              json.string() + " --report-html " + html.string() + " --alerts " + alerts.string(),
          input);
  EXPECT_EQ(o.rc, 1) << o.err;  // some requests failed
  EXPECT_THAT(o.err, HasSubstr("alert [threshold error_rate]"));
  EXPECT_THAT(o.err, HasSubstr("alerts: 1 fired"));
  EXPECT_THAT(Slurp(alerts), HasSubstr("\"rule\":\"error_rate\",\"state\":\"firing\""));
  const std::string page = Slurp(html);
  EXPECT_THAT(page, HasSubstr("<h1>Run report: failing</h1>"));
  EXPECT_THAT(page, HasSubstr("error_rate"));
  EXPECT_THAT(Slurp(json), HasSubstr("\"alerts_fired\": \"1\""));
  // The same page from the saved JSON report.
  fs::path again = dir_ / "again.html";
  o = Run("report " + json.string() + " --html " + again.string());
  EXPECT_EQ(o.rc, 0) << o.err;
  EXPECT_EQ(Slurp(again), page);
  o = Run("report " + pipeline.string() + " --html " + again.string());
  EXPECT_EQ(o.rc, 2);
  EXPECT_THAT(o.err, HasSubstr("p.yaml: error: not a run report"));
}

TEST_F(GraphRunner, LiveViewOnATerminal) {
  REFINERY_REQUIRE_PROGRAM("script", "bsdutils");
  fs::path pipeline = Write("slow.yaml",
                            "pipeline: slow\nnodes:\n  - {id: napper, type: delay, micros: 3000, "
                            "concurrency: serial}\n");
  std::string lines;
  for (int i = 0; i < 400; ++i) lines += "{\"id\":\"" + std::to_string(i) + "\",\"text\":\"x\"}\n";
  fs::path input = Write("in.jsonl", lines);
  // script(1) gives graph-runner a pseudo-terminal, so stderr is a terminal as for a person.
  const std::string cmd = std::string(GRAPH_RUNNER) + " run " + pipeline.string() + " --input " +
                          input.string() + " -o " + (dir_ / "out.jsonl").string();
  const std::string typescript = (dir_ / "tty.txt").string();
  int rc = std::system(("script -qfec '" + cmd + "' " + typescript + " >/dev/null 2>&1").c_str());
  EXPECT_EQ(rc, 0);
  const std::string screen = Slurp(typescript);
  EXPECT_THAT(screen, HasSubstr("rate/s"));
  EXPECT_THAT(screen, HasSubstr("napper"));
  EXPECT_THAT(screen, HasSubstr("in flight"));
  EXPECT_THAT(screen, HasSubstr("\033[K"));  // redrawn in place
  EXPECT_EQ(Lines(Slurp(dir_ / "out.jsonl")), 400);
}

TEST_F(GraphRunner, CompareTwoRunReports) {
  fs::path pipeline = Write("p.yaml", "pipeline: cmp\nnodes:\n  - {id: m, type: measure}\n");
  auto input = [](int a, int b) {
    std::string s;
    for (int i = 0; i < a + b; ++i) {
      s += "{\"id\":\"" + std::to_string(i) + "\",\"type\":\"" + (i < a ? "a" : "b") +
           "\",\"text\":\"x\"}\n";
    }
    return s;
  };
  fs::path first = dir_ / "first.json", second = dir_ / "second.json";
  ASSERT_EQ(
      Run("run " + pipeline.string() + " --no-summary -o /dev/null --report " + first.string(),
          input(10, 0))
          .rc,
      0);
  ASSERT_EQ(
      Run("run " + pipeline.string() + " --no-summary -o /dev/null --report " + second.string(),
          input(20, 5))
          .rc,
      0);
  Outcome o = Run("compare " + first.string() + " " + second.string());
  EXPECT_EQ(o.rc, 0) << o.err;
  EXPECT_THAT(o.out, HasSubstr("type a\n  requests        10 -> 20 (+100%)"));
  EXPECT_THAT(o.out, HasSubstr("type b\n  requests        new 5"));
  EXPECT_THAT(o.out, HasSubstr("node m "));
  o = Run("compare " + first.string() + " " + pipeline.string());
  EXPECT_EQ(o.rc, 2);
  EXPECT_THAT(o.err, HasSubstr("p.yaml: error: not a run report"));
}

// `graph-runner quantize` end to end: the file it writes runs in `infer`, and mistakes exit 2
// with the reason.
TEST_F(GraphRunner, QuantizeWritesAFileInferRunsAndRefusesMistakes) {
  const fs::path model = fs::path(PROJECT_DIR) / ".cache/models/tiny-llama.gguf";
  ASSERT_TRUE(fs::exists(model)) << model << " is missing (tools/setup.sh writes it)";
  const fs::path out = dir_ / "tiny-q8.gguf";
  Outcome ok = Run("quantize " + model.string() + " " + out.string() + " --type Q8_0");
  ASSERT_EQ(ok.rc, 0) << ok.err;
  EXPECT_THAT(ok.err, ::testing::HasSubstr("Q8_0 x"));
  const fs::path pipeline =
      Write("gen.yaml", "pipeline: gen\nnodes:\n  - {id: llm, type: infer, model: \"" +
                            out.string() + "\", max_new_tokens: 4}\n");
  Outcome run = Run("run " + pipeline.string() + " --no-progress --no-summary",
                    "{\"id\": \"a\", \"text\": \"graph\"}\n");
  EXPECT_EQ(run.rc, 0) << run.err;
  EXPECT_THAT(run.out, ::testing::HasSubstr("\"llm.generated_tokens\":4"));
  Outcome bad = Run("quantize " + model.string() + " " + (dir_ / "x.gguf").string() + " --type Q9");
  EXPECT_EQ(bad.rc, 2);
  EXPECT_THAT(bad.err, ::testing::HasSubstr("unknown type 'Q9'"));
  Outcome again =
      Run("quantize " + out.string() + " " + (dir_ / "y.gguf").string() + " --type Q4_0");
  EXPECT_EQ(again.rc, 2);
  EXPECT_THAT(again.err, ::testing::HasSubstr("already Q8_0"));
}

}  // namespace

// graph-runner serve and call as processes: validation before the port opens, call writing what
// run writes, SIGTERM drain, SIGHUP reload, and clients in another language (the Python example,
// health and reflection as generic tools see them).
#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "tests/support/read_file.h"

namespace refinery {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

std::string Slurp(const fs::path& p) { return refinery::testing::ReadFile(p); }

int Lines(const std::string& s) { return int(std::count(s.begin(), s.end(), '\n')); }

int Shell(const std::string& cmd) {
  const int status = std::system(cmd.c_str());
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

class ServeProcess : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("serve-test-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
  }
  void TearDown() override {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
    fs::remove_all(dir_);
  }
  fs::path Write(const std::string& name, const std::string& text) {
    fs::path p = dir_ / name;
    std::ofstream(p, std::ios::binary) << text;
    return p;
  }
  // Starts `graph-runner COMMAND --listen 127.0.0.1:0 --threads 2 ARGS` (serve, serve-models);
  // returns its address, or "" when it exited (its exit code in exit_code_).
  std::string Start(const std::vector<std::string>& args, const std::string& command = "serve") {
    pid_ = ::fork();
    if (pid_ == 0) {
      int out = ::open((dir_ / "serve.out").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      int err = ::open((dir_ / "serve.err").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      int in = ::open("/dev/null", O_RDONLY);
      ::dup2(in, 0);
      ::dup2(out, 1);
      ::dup2(err, 2);
      std::vector<std::string> all = {GRAPH_RUNNER,  command,     "--listen",
                                      "127.0.0.1:0", "--threads", "2"};
      all.insert(all.end(), args.begin(), args.end());
      std::vector<char*> argv;
      for (std::string& a : all) argv.push_back(a.data());
      argv.push_back(nullptr);
      ::execv(GRAPH_RUNNER, argv.data());
      ::_exit(99);
    }
    for (int i = 0; i < 1000; ++i) {
      const std::string out = Slurp(dir_ / "serve.out");
      if (const size_t at = out.find("listening on "); at != std::string::npos && Lines(out) > 0)
        return out.substr(at + 13, out.find('\n', at) - at - 13);
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        return "";
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return "";
  }
  int Stop(int signal) {
    ::kill(pid_, signal);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }
  std::string Call(const std::string& address, const std::string& args) {
    return std::string(GRAPH_RUNNER) + " call --server " + address + " " + args;
  }

  fs::path dir_;
  pid_t pid_ = -1;
  int exit_code_ = -1;
  const std::string pipelines_ = std::string(PROJECT_DIR) + "/pipelines";
};

TEST_F(ServeProcess, AnInvalidPipelineIsRefusedBeforeThePortOpens) {
  fs::path bad = Write("bad.yaml", "pipeline: bad\nnodes:\n  - {id: a, type: normalise}\n");
  EXPECT_EQ(Start({pipelines_ + "/clean-text.yaml", bad.string()}), "");
  EXPECT_EQ(exit_code_, 2);
  EXPECT_THAT(Slurp(dir_ / "serve.err"), HasSubstr(bad.string() + ":3:"));
  EXPECT_EQ(Slurp(dir_ / "serve.out"), "");
}

TEST_F(ServeProcess, CallWritesWhatRunWrites) {
  const std::string address = Start({pipelines_ + "/clean-text.yaml"});
  ASSERT_NE(address, "") << Slurp(dir_ / "serve.err");
  const std::string input = pipelines_ + "/samples/requests.jsonl";
  fs::path with_bad = Write("in.jsonl", Slurp(input) + "{not json\n");
  ASSERT_EQ(Shell(Call(address, "--ordered -i " + with_bad.string() + " -o " +
                                    (dir_ / "call.jsonl").string() + " 2>/dev/null")),
            1);  // the bad line is a failed request, as with run
  ASSERT_EQ(Shell(std::string(GRAPH_RUNNER) + " run " + pipelines_ +
                  "/clean-text.yaml --ordered --no-summary -i " + with_bad.string() + " -o " +
                  (dir_ / "run.jsonl").string() + " 2>/dev/null"),
            1);
  // Timings differ from run to run; everything else is the same text.
  auto strip = [](std::string s) {
    for (const char* key : {"\"latency_ms\":", "\"trace\":"}) {
      for (size_t at = s.find(key); at != std::string::npos; at = s.find(key, at + 1)) {
        const size_t end = key[1] == 'l' ? s.find(',', at) : s.find(']', at);
        s.erase(at, end - at);
      }
    }
    return s;
  };
  const std::string call = Slurp(dir_ / "call.jsonl"), run = Slurp(dir_ / "run.jsonl");
  EXPECT_EQ(Lines(call), Lines(run));
  EXPECT_EQ(strip(call), strip(run));
  EXPECT_THAT(call, HasSubstr("not a valid request"));
}

TEST_F(ServeProcess, SigtermDrainsCallsInProgressThenExitsZero) {
  fs::path slow = Write("slow.yaml",
                        "pipeline: slow\nnodes:\n"
                        "  - {id: d, type: delay, micros: 50000, concurrency: 1}\n");
  const std::string address = Start({slow.string(), "--drain-timeout", "30"});
  ASSERT_NE(address, "") << Slurp(dir_ / "serve.err");
  std::string lines;
  for (int i = 0; i < 20; ++i) lines += "{\"id\":\"" + std::to_string(i) + "\",\"text\":\"x\"}\n";
  fs::path input = Write("in.jsonl", lines);
  // 20 requests of 50 ms, one at a time: about a second of work in progress at the SIGTERM.
  std::thread call([&] {
    EXPECT_EQ(Shell(Call(address, "-i " + input.string() + " -o " + (dir_ / "out.jsonl").string() +
                                      " 2>" + (dir_ / "call.err").string())),
              0);
  });
  for (int i = 0; i < 500 && Lines(Slurp(dir_ / "out.jsonl")) < 2; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_EQ(Stop(SIGTERM), 0);
  call.join();
  EXPECT_EQ(Lines(Slurp(dir_ / "out.jsonl")), 20) << Slurp(dir_ / "call.err");
  EXPECT_THAT(Slurp(dir_ / "serve.err"), HasSubstr("draining"));
}

TEST_F(ServeProcess, SighupReloadsAValidFileAndKeepsServingOnAnInvalidOne) {
  fs::path p = Write("p.yaml", "pipeline: p\nnodes:\n  - {id: n, type: normalize}\n");
  const std::string address = Start({p.string()});
  ASSERT_NE(address, "") << Slurp(dir_ / "serve.err");
  fs::path input = Write("in.jsonl", "{\"id\":\"1\",\"text\":\"a  b\"}\n");
  Write("p.yaml",
        "pipeline: p\nnodes:\n  - {id: n, type: normalize}\n"
        "  - {id: c, type: copy, from: text, to: copied}\nedges:\n  - n -> c\n");
  ::kill(pid_, SIGHUP);
  for (int i = 0; i < 500 && Slurp(dir_ / "serve.err").find("reloaded") == std::string::npos; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  ASSERT_EQ(Shell(Call(address, "-i " + input.string() + " -o " + (dir_ / "a.jsonl").string() +
                                    " 2>/dev/null")),
            0);
  EXPECT_THAT(Slurp(dir_ / "a.jsonl"), HasSubstr("\"copied\":\"a b\""));
  Write("p.yaml", "pipeline: p\nnodes:\n  - {id: n, type: normalize, bogus: 1}\n");
  ::kill(pid_, SIGHUP);
  for (int i = 0; i < 500 && Slurp(dir_ / "serve.err").find("refused") == std::string::npos; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_THAT(Slurp(dir_ / "serve.err"), HasSubstr(p.string() + ":3:"));
  ASSERT_EQ(Shell(Call(address, "-i " + input.string() + " -o " + (dir_ / "b.jsonl").string() +
                                    " 2>/dev/null")),
            0);
  EXPECT_THAT(Slurp(dir_ / "b.jsonl"), HasSubstr("\"copied\":\"a b\""));  // the previous graph
  EXPECT_EQ(Stop(SIGINT), 0);
}

TEST_F(ServeProcess, PythonClientsHealthAndReflectionWork) {
  ASSERT_EQ(Shell("/usr/bin/python3 -c 'import grpc, google.protobuf' 2>/dev/null"), 0)
      << "python3 with grpcio and protobuf is missing: tools/setup.sh --tests installs Debian's "
         "python3-grpcio and python3-protobuf";
  const std::string gen = (dir_ / "py").string();
  fs::create_directories(gen);
  const std::string root = PROJECT_DIR;
  ASSERT_EQ(Shell(std::string(PROTOC) + " -I " + root + " --python_out=" + gen + " " + root +
                  "/graph/proto/refinery.proto " + root + "/graph/proto/refinery_service.proto"),
            0);
  ASSERT_EQ(
      Shell(std::string(PROTOC) + " -I " + root +
            "/tests/support/grpc_standard --python_out=" + gen + " health.proto reflection.proto"),
      0);
  const std::string address = Start({pipelines_ + "/clean-text.yaml"});
  ASSERT_NE(address, "") << Slurp(dir_ / "serve.err");
  fs::path out = dir_ / "py.out";
  EXPECT_EQ(Shell("PYTHONPATH=" + gen + " /usr/bin/python3 " + root +
                  "/tools/service/example_client.py " + address +
                  " clean-text 'Hello   world' 'Second   text' >" + out.string() + " 2>&1"),
            0)
      << Slurp(out);
  const std::string printed = Slurp(out);
  EXPECT_THAT(printed, HasSubstr("pipelines: clean-text"));
  EXPECT_THAT(printed, HasSubstr("Run: 1 ok 'Hello world'"));
  EXPECT_THAT(printed, HasSubstr("RunStream: 2 ok 'Second text'"));
  EXPECT_EQ(Shell("PYTHONPATH=" + gen + " /usr/bin/python3 " + root +
                  "/tests/tools/standard_services_check.py " + address + " clean-text >" +
                  out.string() + " 2>&1"),
            0)
      << Slurp(out);
  EXPECT_EQ(Stop(SIGTERM), 0);
}

// graph-runner serve-models: the OpenAI HTTP API on the tiny model set-up writes, as any HTTP
// client sees it; SIGTERM stops it with exit 0; a file that is not a model exits 2 before the
// port opens.
TEST_F(ServeProcess, ServeModelsAnswersOpenAiClientsAndStopsOnSigterm) {
  const std::string model = std::string(PROJECT_DIR) + "/.cache/models/tiny-llama.gguf";
  ASSERT_TRUE(fs::exists(model)) << model << " is missing (tools/setup.sh writes it)";
  const std::string address = Start({"tiny=" + model}, "serve-models");
  ASSERT_NE(address, "") << Slurp(dir_ / "serve.err");
  const int port = std::stoi(address.substr(address.rfind(':') + 1));
  httplib::Client http("127.0.0.1", port);
  auto models = http.Get("/v1/models");
  ASSERT_TRUE(models);
  EXPECT_THAT(models->body, HasSubstr("\"id\":\"tiny\""));
  auto completion =
      http.Post("/v1/completions", R"({"model": "tiny", "prompt": "the cat", "max_tokens": 5})",
                "application/json");
  ASSERT_TRUE(completion);
  EXPECT_EQ(completion->status, 200) << completion->body;
  EXPECT_THAT(completion->body, HasSubstr("\"completion_tokens\""));
  EXPECT_EQ(Stop(SIGTERM), 0);
}

TEST_F(ServeProcess, ServeModelsRefusesAFileThatIsNotAModel) {
  fs::path bad = Write("bad.gguf", "not a gguf file");
  EXPECT_EQ(Start({bad.string()}, "serve-models"), "");
  EXPECT_EQ(exit_code_, 2);
  EXPECT_THAT(Slurp(dir_ / "serve.err"), HasSubstr(bad.string()));
}

}  // namespace
}  // namespace refinery

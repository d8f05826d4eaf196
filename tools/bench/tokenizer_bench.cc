// tokenizer_bench: one-thread encode and count-only throughput (MB/s) of the tiktoken-compatible
// encoder over text files, and vocabulary load times. The peers (tiktoken's WASM build and
// js-tiktoken) are measured by tools/tokenizer/golden/bench.mjs on the same files; the script
// tools/bench/tokenizer.sh runs both.
//
//   tokenizer_bench FILE... [--encoding cl100k_base,o200k_base] [--seconds 2]
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "nodes/text/tiktoken_encoding.h"

using namespace refinery::text;
using Clock = std::chrono::steady_clock;

namespace {

std::string Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::vector<std::string> SplitList(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  for (std::string item; std::getline(ss, item, ',');) out.push_back(item);
  return out;
}

template <typename F>
double MegabytesPerSecond(size_t bytes, double min_seconds, F&& f) {
  double best = 0;
  auto deadline = Clock::now() + std::chrono::duration<double>(min_seconds);
  do {
    auto t0 = Clock::now();
    f();
    double secs = std::chrono::duration<double>(Clock::now() - t0).count();
    best = std::max(best, bytes / secs / 1e6);
  } while (Clock::now() < deadline);
  return best;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> files;
  std::vector<std::string> encodings = {"cl100k_base", "o200k_base"};
  double seconds = 2;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--encoding") && i + 1 < argc)
      encodings = SplitList(argv[++i]);
    else if (!std::strcmp(argv[i], "--seconds") && i + 1 < argc)
      seconds = std::atof(argv[++i]);
    else
      files.push_back(argv[i]);
  }
  if (files.empty()) {
    std::fprintf(stderr, "usage: tokenizer_bench FILE... [--encoding a,b] [--seconds N]\n");
    return 2;
  }
  for (const std::string& name : encodings) {
    auto t0 = Clock::now();
    auto enc = TiktokenEncoding::Get(name);
    double load_ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
    if (!enc.ok()) {
      std::fprintf(stderr, "%s\n", enc.status().message().c_str());
      return 1;
    }
    std::printf("%s: vocabulary load %.1f ms (%zu ranks)\n", name.c_str(), load_ms,
                (*enc)->vocabulary().size());
    for (const std::string& file : files) {
      const std::string text = Slurp(file);
      std::vector<uint32_t> ids;
      size_t tokens = 0;
      double encode = MegabytesPerSecond(text.size(), seconds, [&] {
        ids.clear();
        (*enc)->EncodeOrdinary(text, &ids);
      });
      double count =
          MegabytesPerSecond(text.size(), seconds, [&] { tokens = (*enc)->CountOrdinary(text); });
      const char* base = std::strrchr(file.c_str(), '/');
      std::printf("  %-20s %8.2f MB  encode %7.2f MB/s  count %7.2f MB/s  %zu tokens\n",
                  base ? base + 1 : file.c_str(), text.size() / 1e6, encode, count, tokens);
    }
  }
  return 0;
}

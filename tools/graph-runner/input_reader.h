// InputReader: turns graph-runner's inputs into Requests, one at a time, so reading is paced by
// the engine's back-pressure (nothing is read ahead). JSON Lines (one request object per line)
// or plain text files (one request per file).
#pragma once

#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include "graph/request.h"

namespace refinery::cli {

enum class InputFormat { kAuto, kJsonLines, kText };

struct InputItem {
  std::optional<Request> request;  // empty when the line was bad
  std::string error;               // "file:line: message" for a bad line
  std::string fallback_id;         // id for the error result (the line number)
};

class InputReader {
 public:
  InputReader(std::vector<std::string> paths, InputFormat format, size_t max_line_bytes);
  ~InputReader();
  // Opens the next input; false at the end. An unopenable file is an error item.
  bool Next(InputItem* out);
  // Fraction of input bytes consumed, when known (files), else -1.
  double Progress() const;

 private:
  bool OpenNext(InputItem* out, bool* opened);
  bool ReadLine(std::string* line, bool* too_long);

  std::vector<std::string> paths_;
  InputFormat format_;
  size_t max_line_bytes_;
  size_t next_path_ = 0;
  std::FILE* file_ = nullptr;
  std::string current_;
  bool current_jsonl_ = false;
  int64_t line_number_ = 0;
  int64_t total_bytes_ = 0;
  int64_t done_bytes_ = 0;
  int64_t current_bytes_ = 0;
};

}  // namespace refinery::cli

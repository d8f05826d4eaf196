// InputReader: turns graph-runner's inputs into Requests, one at a time, so reading is paced by
// the engine's back-pressure (nothing is read ahead). JSON Lines (one request object per line)
// or plain text files (one request per file).
#pragma once

#include <atomic>
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
  std::string where;               // "file:line" of a JSON Lines request, for messages
};

// Not thread-safe: one caller at a time (the engine's reader calls it serially).
class InputReader {
 public:
  // `stop_fd`: when it becomes readable (a signal handler wrote to it), reading stops as if
  // the input had ended, even while blocked waiting for a slow pipe. -1 for none.
  InputReader(std::vector<std::string> paths, InputFormat format, size_t max_line_bytes,
              int stop_fd = -1);
  ~InputReader();
  // The next request or bad line; false at the end of all inputs (or when stopped).
  bool Next(InputItem* out);
  // Fraction of input bytes consumed, when known (files), else -1.
  double Progress() const;

 private:
  bool OpenNext(InputItem* out, bool* opened);
  void CloseCurrent();
  // Refills buf_ from fd_, waiting on fd_ and stop_fd_; false at end of file or when stopped.
  bool Fill();
  bool ReadLine(std::string* line, bool* too_long);

  std::vector<std::string> paths_;
  InputFormat format_;
  size_t max_line_bytes_;
  int stop_fd_;
  bool stopped_ = false;
  size_t next_path_ = 0;
  int fd_ = -1;
  std::string buf_;
  size_t buf_pos_ = 0;
  std::string current_;
  bool current_jsonl_ = false;
  int64_t line_number_ = 0;
  int64_t total_bytes_ = 0;
  // Read by Progress() from the progress thread while the reader advances them.
  std::atomic<int64_t> done_bytes_{0};
  std::atomic<int64_t> current_bytes_{0};
};

}  // namespace refinery::cli

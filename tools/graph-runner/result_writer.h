// ResultWriter: writes one JSON line per result; safe to call from concurrent graph threads.
// Every write, flush and close is checked: a result that did not reach the file (a full disk,
// /dev/full, a closed pipe) is counted, and Close() reports how many were lost.
#pragma once

#include <cstdio>
#include <memory>
#include <mutex>
#include <string>

#include "graph/request.h"
#include "graph/status.h"

namespace refinery::cli {

class ResultWriter {
 public:
  // "-" = stdout. With `flush_each`, every line is flushed as written (streams read live).
  static StatusOr<std::unique_ptr<ResultWriter>> Open(const std::string& path, bool flush_each);
  ~ResultWriter();
  void Write(const Result& result);
  void Flush();
  // Flushes and closes (stdout is flushed, not closed). Fails when any result was not written,
  // saying how many of how many and why.
  Status Close();
  int64_t lost() const;

 private:
  ResultWriter(std::FILE* f, std::string path, bool owned, bool flush_each)
      : file_(f), path_(std::move(path)), owned_(owned), flush_each_(flush_each) {}
  void WriteLine(const std::string& json);
  void FlushLocked();
  void Lose(int64_t lines, int error);  // under mu_
  mutable std::mutex mu_;
  std::FILE* file_;
  std::string path_;
  bool owned_;
  bool flush_each_;
  bool closed_ = false;
  int64_t lines_ = 0;    // results handed to the writer
  int64_t pending_ = 0;  // written to the stdio buffer since the last successful flush
  int64_t lost_ = 0;
  std::string error_;  // the first write error
};

}  // namespace refinery::cli

// ResultWriter: writes one JSON line per result; safe to call from concurrent graph threads.
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

 private:
  ResultWriter(std::FILE* f, bool owned, bool flush_each)
      : file_(f), owned_(owned), flush_each_(flush_each) {}
  void WriteLine(const std::string& json);
  std::mutex mu_;
  std::FILE* file_;
  bool owned_;
  bool flush_each_;
};

}  // namespace refinery::cli

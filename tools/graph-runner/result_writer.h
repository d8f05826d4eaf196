// ResultWriter: writes one JSON line per result; safe to call from concurrent graph threads.
#pragma once

#include <cstdio>
#include <mutex>
#include <string>

#include "graph/request.h"
#include "graph/status.h"

namespace refinery::cli {

class ResultWriter {
 public:
  static StatusOr<std::unique_ptr<ResultWriter>> Open(const std::string& path);  // "-" = stdout
  ~ResultWriter();
  void Write(const Result& result);
  void Flush();

 private:
  explicit ResultWriter(std::FILE* f, bool owned) : file_(f), owned_(owned) {}
  void WriteLine(const std::string& json);
  std::mutex mu_;
  std::FILE* file_;
  bool owned_;
};

}  // namespace refinery::cli

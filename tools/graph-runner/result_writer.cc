#include "tools/graph-runner/result_writer.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "graph/io/json_io.h"

namespace refinery::cli {

StatusOr<std::unique_ptr<ResultWriter>> ResultWriter::Open(const std::string& path,
                                                           bool flush_each) {
  if (path == "-") {
    // A pipe or terminal on stdout is someone reading live: flush each line there too.
    struct stat st {};
    bool live = ::fstat(STDOUT_FILENO, &st) != 0 || !S_ISREG(st.st_mode);
    return std::unique_ptr<ResultWriter>(new ResultWriter(stdout, false, flush_each || live));
  }
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (!f)
    return Status::InvalidArgument(path + ": error: cannot write output: " + std::strerror(errno));
  return std::unique_ptr<ResultWriter>(new ResultWriter(f, true, flush_each));
}

ResultWriter::~ResultWriter() {
  Flush();
  if (owned_) std::fclose(file_);
}

void ResultWriter::WriteLine(const std::string& json) {
  std::lock_guard lock(mu_);
  std::fwrite(json.data(), 1, json.size(), file_);
  std::fputc('\n', file_);
  if (flush_each_) std::fflush(file_);
}

void ResultWriter::Write(const Result& result) { WriteLine(ResultToJson(result)); }

void ResultWriter::Flush() {
  std::lock_guard lock(mu_);
  std::fflush(file_);
}

}  // namespace refinery::cli

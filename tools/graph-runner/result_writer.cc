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
    return std::unique_ptr<ResultWriter>(
        new ResultWriter(stdout, "standard output", false, flush_each || live));
  }
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (!f)
    return Status::InvalidArgument(path + ": error: cannot write output: " + std::strerror(errno));
  return std::unique_ptr<ResultWriter>(new ResultWriter(f, path, true, flush_each));
}

ResultWriter::~ResultWriter() { Close(); }

void ResultWriter::Lose(int64_t lines, int error) {
  lost_ += lines;
  if (error_.empty()) error_ = std::strerror(error != 0 ? error : EIO);
}

void ResultWriter::WriteLine(const std::string& json) {
  std::lock_guard lock(mu_);
  ++lines_;
  if (closed_) {
    Lose(1, EBADF);
    return;
  }
  const bool written = std::fwrite(json.data(), 1, json.size(), file_) == json.size() &&
                       std::fputc('\n', file_) != EOF;
  if (!written) {
    // The buffer could not take the line: it, and whatever the buffer still held, are lost.
    Lose(pending_ + 1, errno);
    pending_ = 0;
    std::clearerr(file_);
    return;
  }
  ++pending_;
  if (flush_each_) FlushLocked();
}

void ResultWriter::FlushLocked() {
  if (closed_ || pending_ == 0) return;
  if (std::fflush(file_) != 0) {
    Lose(pending_, errno);
    std::clearerr(file_);
  }
  pending_ = 0;
}

void ResultWriter::Write(const Result& result) { WriteLine(ResultToJson(result)); }

void ResultWriter::Flush() {
  std::lock_guard lock(mu_);
  FlushLocked();
}

Status ResultWriter::Close() {
  std::lock_guard lock(mu_);
  if (!closed_) {
    FlushLocked();
    if (owned_ && std::fclose(file_) != 0) Lose(0, errno);  // a late error (NFS, quota)
    closed_ = true;
  }
  if (lost_ == 0 && error_.empty()) return Status::Ok();
  if (lost_ == 0) {  // every line was flushed, then closing failed: the file may still be short
    return Status::Internal(path_ + ": error: closing the output failed after " +
                            std::to_string(lines_) + " results (" + error_ +
                            "); the last of them may be missing");
  }
  return Status::Internal(path_ + ": error: " + std::to_string(lost_) + " of " +
                          std::to_string(lines_) + " results were not written (" + error_ + ")");
}

int64_t ResultWriter::lost() const {
  std::lock_guard lock(mu_);
  return lost_;
}

}  // namespace refinery::cli

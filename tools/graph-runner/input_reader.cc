#include "tools/graph-runner/input_reader.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "graph/io/json_io.h"

namespace refinery::cli {

namespace {
bool EndsWith(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}
constexpr size_t kChunk = 1 << 16;
}  // namespace

InputReader::InputReader(std::vector<std::string> paths, InputFormat format, size_t max_line_bytes,
                         int stop_fd)
    : paths_(std::move(paths)),
      format_(format),
      max_line_bytes_(max_line_bytes),
      stop_fd_(stop_fd) {
  for (const std::string& p : paths_) {
    struct stat st {};
    if (p != "-" && ::stat(p.c_str(), &st) == 0 && S_ISREG(st.st_mode))
      total_bytes_ += st.st_size;
    else if (p == "-")
      total_bytes_ = -1;
  }
}

InputReader::~InputReader() { CloseCurrent(); }

void InputReader::CloseCurrent() {
  if (fd_ > 0) ::close(fd_);
  fd_ = -1;
  done_bytes_ += current_bytes_.exchange(0);
  buf_.clear();
  buf_pos_ = 0;
}

double InputReader::Progress() const {
  if (total_bytes_ <= 0) return -1;
  return double(done_bytes_.load() + current_bytes_.load()) / double(total_bytes_);
}

bool InputReader::OpenNext(InputItem* out, bool* opened) {
  *opened = false;
  if (next_path_ >= paths_.size()) return false;
  current_ = paths_[next_path_++];
  line_number_ = 0;
  if (current_ == "-") {
    fd_ = 0;
  } else {
    struct stat st {};
    if (::stat(current_.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
      out->error = current_ + ": error: is a directory, expected an input file";
      out->fallback_id = current_;
      return true;
    }
    fd_ = ::open(current_.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd_ < 0) {
      out->error = current_ + ": error: cannot open input: " + std::strerror(errno);
      out->fallback_id = current_;
      return true;
    }
  }
  current_jsonl_ = format_ == InputFormat::kJsonLines ||
                   (format_ == InputFormat::kAuto &&
                    (current_ == "-" || EndsWith(current_, ".jsonl") ||
                     EndsWith(current_, ".json") || EndsWith(current_, ".ndjson")));
  *opened = true;
  return true;
}

bool InputReader::Fill() {
  if (stopped_) return false;
  while (true) {
    struct pollfd fds[2] = {{fd_, POLLIN, 0}, {stop_fd_, POLLIN, 0}};
    int n = ::poll(fds, stop_fd_ >= 0 ? 2 : 1, -1);
    if (n < 0) {
      if (errno == EINTR) continue;  // a signal: the stop pipe says whether to stop
      return false;
    }
    if (stop_fd_ >= 0 && (fds[1].revents & POLLIN)) {
      stopped_ = true;
      return false;
    }
    if (buf_pos_ > 0) {
      buf_.erase(0, buf_pos_);
      buf_pos_ = 0;
    }
    const size_t old = buf_.size();
    buf_.resize(old + kChunk);
    ssize_t got = ::read(fd_, buf_.data() + old, kChunk);
    if (got < 0 && (errno == EINTR || errno == EAGAIN)) {
      buf_.resize(old);
      continue;
    }
    buf_.resize(old + std::max<ssize_t>(got, 0));
    if (got <= 0) return false;
    current_bytes_ += got;
    return true;
  }
}

bool InputReader::ReadLine(std::string* line, bool* too_long) {
  line->clear();
  *too_long = false;
  bool any = false;
  while (true) {
    size_t nl = buf_.find('\n', buf_pos_);
    size_t end = nl == std::string::npos ? buf_.size() : nl;
    size_t take = end - buf_pos_;
    any = any || take > 0 || nl != std::string::npos;
    if (line->size() + take > max_line_bytes_) {
      *too_long = true;  // keep consuming to the end of the line without storing it
    } else {
      line->append(buf_, buf_pos_, take);
    }
    if (nl != std::string::npos) {
      buf_pos_ = nl + 1;
      break;
    }
    buf_pos_ = buf_.size();
    if (!Fill()) break;
  }
  if (!line->empty() && line->back() == '\r') line->pop_back();
  return any;
}

bool InputReader::Next(InputItem* out) {
  *out = InputItem{};
  while (true) {
    if (stopped_) return false;
    if (fd_ < 0) {
      bool opened;
      if (!OpenNext(out, &opened)) return false;
      if (!opened) return true;  // the open error is the item
    }
    if (!current_jsonl_) {
      // A whole text file is one request, id = its path; at most max_line_bytes of it, so an
      // endless input (/dev/zero, a pipe that never closes) is an error, not unbounded memory.
      bool too_big = false;
      while (!too_big && Fill()) too_big = buf_.size() - buf_pos_ > max_line_bytes_;
      if (stopped_) return false;
      if (too_big) {
        out->fallback_id = current_;
        out->error = (current_ == "-" ? "<stdin>" : current_) +
                     ": error: text input is larger than " + std::to_string(max_line_bytes_) +
                     " bytes (--max-line-bytes)";
        CloseCurrent();
        return true;
      }
      Request r;
      r.id = current_;
      r.fields["text"] = std::string(buf_, buf_pos_);
      CloseCurrent();
      out->request = std::move(r);
      return true;
    }
    std::string line;
    bool too_long;
    if (!ReadLine(&line, &too_long)) {
      if (stopped_) return false;
      CloseCurrent();
      continue;
    }
    ++line_number_;
    if (line.find_first_not_of(" \t") == std::string::npos && !too_long) continue;  // blank line
    out->fallback_id = std::to_string(line_number_);
    const std::string where =
        (current_ == "-" ? "<stdin>" : current_) + ":" + std::to_string(line_number_);
    if (too_long) {
      out->error = where + ": error: line is longer than " + std::to_string(max_line_bytes_) +
                   " bytes (--max-line-bytes)";
      return true;
    }
    StatusOr<Request> r = RequestFromJson(line, line_number_);
    if (!r.ok()) {
      out->error = where + ": error: " + r.status().message();
      return true;
    }
    out->request = std::move(r).value();
    out->where = where;
    return true;
  }
}

}  // namespace refinery::cli

#include "tools/graph-runner/input_reader.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>

#include "graph/json_io.h"

namespace refinery::cli {

namespace {
bool EndsWith(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}
}  // namespace

InputReader::InputReader(std::vector<std::string> paths, InputFormat format, size_t max_line_bytes)
    : paths_(std::move(paths)), format_(format), max_line_bytes_(max_line_bytes) {
  for (const std::string& p : paths_) {
    struct stat st {};
    if (p != "-" && ::stat(p.c_str(), &st) == 0 && S_ISREG(st.st_mode)) total_bytes_ += st.st_size;
    else if (p == "-") total_bytes_ = -1;
  }
}

InputReader::~InputReader() {
  if (file_ && file_ != stdin) std::fclose(file_);
}

double InputReader::Progress() const {
  if (total_bytes_ <= 0) return -1;
  return double(done_bytes_ + current_bytes_) / double(total_bytes_);
}

bool InputReader::OpenNext(InputItem* out, bool* opened) {
  *opened = false;
  if (next_path_ >= paths_.size()) return false;
  current_ = paths_[next_path_++];
  line_number_ = 0;
  current_bytes_ = 0;
  if (current_ == "-") {
    file_ = stdin;
  } else {
    struct stat st {};
    if (::stat(current_.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
      out->error = current_ + ": error: is a directory, expected an input file";
      out->fallback_id = current_;
      return true;
    }
    file_ = std::fopen(current_.c_str(), "rb");
    if (!file_) {
      out->error = current_ + ": error: cannot open input: " + std::strerror(errno);
      out->fallback_id = current_;
      return true;
    }
  }
  current_jsonl_ = format_ == InputFormat::kJsonLines ||
                   (format_ == InputFormat::kAuto &&
                    (current_ == "-" || EndsWith(current_, ".jsonl") || EndsWith(current_, ".json") ||
                     EndsWith(current_, ".ndjson")));
  *opened = true;
  return true;
}

bool InputReader::ReadLine(std::string* line, bool* too_long) {
  line->clear();
  *too_long = false;
  int c;
  bool any = false;
  while ((c = getc_unlocked(file_)) != EOF) {
    any = true;
    ++current_bytes_;
    if (c == '\n') break;
    if (line->size() < max_line_bytes_) line->push_back(static_cast<char>(c));
    else *too_long = true;  // keep reading to the end of the line, without storing it
  }
  if (!line->empty() && line->back() == '\r') line->pop_back();
  return any;
}

bool InputReader::Next(InputItem* out) {
  *out = InputItem{};
  while (true) {
    if (file_ == nullptr) {
      bool opened;
      if (!OpenNext(out, &opened)) return false;
      if (!opened) return true;  // the open error is the item
    }
    if (!current_jsonl_) {
      // A whole text file is one request, id = its path.
      std::string text;
      char buf[1 << 16];
      size_t n;
      while ((n = std::fread(buf, 1, sizeof buf, file_)) > 0) {
        text.append(buf, n);
        current_bytes_ += n;
      }
      if (file_ != stdin) std::fclose(file_);
      file_ = nullptr;
      done_bytes_ += current_bytes_;
      current_bytes_ = 0;
      Request r;
      r.id = current_;
      r.fields["text"] = std::move(text);
      out->request = std::move(r);
      return true;
    }
    std::string line;
    bool too_long;
    if (!ReadLine(&line, &too_long)) {
      if (file_ != stdin) std::fclose(file_);
      file_ = nullptr;
      done_bytes_ += current_bytes_;
      current_bytes_ = 0;
      continue;
    }
    ++line_number_;
    if (line.find_first_not_of(" \t") == std::string::npos && !too_long) continue;  // blank line
    out->fallback_id = std::to_string(line_number_);
    const std::string where = (current_ == "-" ? "<stdin>" : current_) + ":" +
                              std::to_string(line_number_);
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
    return true;
  }
}

}  // namespace refinery::cli

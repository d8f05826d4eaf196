#include "graph/spec/diagnostics.h"

#include <algorithm>

namespace refinery {

std::string SourceLocation::ToString() const {
  std::string out = file.empty() ? "<input>" : file;
  if (line > 0) {
    out += ":" + std::to_string(line);
    if (column > 0) out += ":" + std::to_string(column);
  }
  return out;
}

std::string Diagnostic::ToString() const { return where.ToString() + ": error: " + message; }

void Diagnostics::Error(SourceLocation where, std::string message) {
  // The same problem reached by two checks is reported once.
  for (const Diagnostic& d : items_) {
    if (d.message == message && d.where.line == where.line && d.where.column == where.column)
      return;
  }
  items_.push_back({std::move(where), std::move(message)});
}

std::string Diagnostics::Format() const {
  std::vector<Diagnostic> sorted = items_;
  std::stable_sort(sorted.begin(), sorted.end(), [](const Diagnostic& a, const Diagnostic& b) {
    if (a.where.file != b.where.file) return a.where.file < b.where.file;
    if (a.where.line != b.where.line) return a.where.line < b.where.line;
    return a.where.column < b.where.column;
  });
  std::string out;
  for (const Diagnostic& d : sorted) out += d.ToString() + "\n";
  if (sorted.size() > 1) out += std::to_string(sorted.size()) + " errors\n";
  return out;
}

Status Diagnostics::ToStatus() const {
  return empty() ? Status::Ok() : Status::InvalidArgument(Format());
}

}  // namespace refinery

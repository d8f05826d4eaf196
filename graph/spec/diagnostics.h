// Located error messages: validation collects ALL problems, then fails once (STYLE.md rule 5).
//
//   Diagnostics diags;
//   diags.Error({"p.yaml", 4, 7}, "node 'cut' (truncate): unknown key 'max_token'");
//   if (!diags.empty()) std::cerr << diags.Format();   // "p.yaml:4:7: error: node 'cut' ..."
#pragma once

#include <string>
#include <vector>

#include "graph/status.h"

namespace refinery {

// 1-based line and column; 0 means "unknown" (e.g. an error about the file as a whole).
struct SourceLocation {
  std::string file;
  int line = 0;
  int column = 0;
  std::string ToString() const;
};

struct Diagnostic {
  SourceLocation where;
  std::string message;
  std::string ToString() const;  // "file:line:col: error: message"
};

class Diagnostics {
 public:
  void Error(SourceLocation where, std::string message);
  bool empty() const { return items_.empty(); }
  size_t size() const { return items_.size(); }
  const std::vector<Diagnostic>& items() const { return items_; }
  // All messages, sorted by position, one per line.
  std::string Format() const;
  // OK when empty, else InvalidArgument carrying Format().
  Status ToStatus() const;

 private:
  std::vector<Diagnostic> items_;
};

}  // namespace refinery

#include "graph/internal/yaml_guard.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <tuple>
#include <vector>

namespace refinery::internal {

StatusOr<std::string> ReadTextFile(const std::string& path, size_t max_bytes) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return Status::NotFound(path + ": error: no such file");
    return Status::InvalidArgument(path + ": error: cannot open: " + std::strerror(errno));
  }
  if (S_ISDIR(st.st_mode)) {
    return Status::InvalidArgument(path + ": error: is a directory, expected a file");
  }
  if (!S_ISREG(st.st_mode)) {
    return Status::InvalidArgument(path + ": error: not a regular file");
  }
  if (static_cast<size_t>(st.st_size) > max_bytes) {
    return Status::InvalidArgument(path + ": error: file is " + std::to_string(st.st_size) +
                                   " bytes; the limit is " + std::to_string(max_bytes));
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::InvalidArgument(path + ": error: cannot open: " + std::strerror(errno));
  std::ostringstream buf;
  buf << in.rdbuf();
  return buf.str();
}

namespace {

// Length of the UTF-8 sequence at s[i], or 0 when invalid.
size_t Utf8Length(const std::string& s, size_t i) {
  unsigned char c = s[i];
  size_t n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
  if (n == 0 || i + n > s.size()) return 0;
  for (size_t k = 1; k < n; ++k) {
    if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return 0;
  }
  if (n == 2 && c < 0xC2) return 0;  // overlong
  return n;
}

// yaml-cpp keeps both entries of a mapping that repeats a key, and lookups see the first: a
// second `ratio:` in a node would be ignored without a word. Every repeat is a located error.
// Nodes reached again through an alias (same mark) are walked once.
void FindDuplicateKeys(const YAML::Node& node, const std::string& file, Diagnostics& diags,
                       std::set<std::tuple<int, int, int>>& visited) {
  if (!node.IsMap() && !node.IsSequence()) return;
  const YAML::Mark mark = node.Mark();
  if (!visited.emplace(mark.line, mark.column, int(node.Type())).second) return;
  if (node.IsSequence()) {
    for (const YAML::Node& child : node) FindDuplicateKeys(child, file, diags, visited);
    return;
  }
  std::map<std::string, int> first_line;
  for (const auto& kv : node) {
    if (kv.first.IsScalar()) {
      const int line = kv.first.Mark().line + 1;
      if (auto [it, added] = first_line.emplace(kv.first.Scalar(), line); !added) {
        diags.Error(SourceLocation{file, line, kv.first.Mark().column + 1},
                    "duplicate key '" + kv.first.Scalar() + "'; first given at line " +
                        std::to_string(it->second));
      }
    }
    FindDuplicateKeys(kv.second, file, diags, visited);
  }
}

}  // namespace

int EstimateYamlDepth(const std::string& text) {
  std::vector<size_t> indents;  // open block indentation levels
  int flow = 0;
  int max_depth = 0;
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    std::string_view line(text.data() + pos, end - pos);
    size_t indent = 0;
    while (indent < line.size() && line[indent] == ' ') ++indent;
    bool blank = indent == line.size() || line[indent] == '#' || line[indent] == '\r';
    if (!blank) {
      if (flow == 0) {
        while (!indents.empty() && indents.back() > indent) indents.pop_back();
        if (indents.empty() || indents.back() < indent) indents.push_back(indent);
      }
      int dashes = 0;
      size_t i = indent;
      while (i + 1 < line.size() && line[i] == '-' && line[i + 1] == ' ') {
        ++dashes;
        i += 2;
        while (i < line.size() && line[i] == ' ') ++i;
      }
      char quote = 0;
      for (; i < line.size(); ++i) {
        char c = line[i];
        if (quote) {
          if (c == '\\' && quote == '"')
            ++i;
          else if (c == quote)
            quote = 0;
          continue;
        }
        if (c == '"' || c == '\'')
          quote = c;
        else if (c == '#' && (i == 0 || line[i - 1] == ' '))
          break;
        else if (c == '[' || c == '{')
          ++flow;
        else if ((c == ']' || c == '}') && flow > 0)
          --flow;
        int depth = static_cast<int>(indents.size()) + dashes + flow;
        if (depth > max_depth) max_depth = depth;
      }
      int depth = static_cast<int>(indents.size()) + dashes + flow;
      if (depth > max_depth) max_depth = depth;
    }
    pos = end + 1;
  }
  return max_depth;
}

StatusOr<YAML::Node> SafeLoadYaml(const std::string& text, const std::string& file,
                                  size_t max_bytes, int max_depth) {
  if (text.size() > max_bytes) {
    return Status::InvalidArgument(file + ": error: document is " + std::to_string(text.size()) +
                                   " bytes; the limit is " + std::to_string(max_bytes));
  }
  int line = 1, col = 1;
  int aliases = 0;
  for (size_t i = 0; i < text.size();) {
    unsigned char c = text[i];
    size_t n = Utf8Length(text, i);
    if (c == 0 || n == 0 || (c < 0x20 && c != '\n' && c != '\r' && c != '\t')) {
      char hex[8];
      std::snprintf(hex, sizeof hex, "0x%02X", c);
      return Status::InvalidArgument(SourceLocation{file, line, col}.ToString() +
                                     ": error: not a YAML text file (byte " + hex +
                                     " is not valid UTF-8 text)");
    }
    if (c == '*' && (i == 0 || text[i - 1] == ' ' || text[i - 1] == '[' || text[i - 1] == ',')) {
      ++aliases;
    }
    if (c == '\n') {
      ++line;
      col = 1;
    } else {
      ++col;
    }
    i += n;
  }
  // Aliases share nodes in yaml-cpp, but any walk of the tree expands them; pipelines need few.
  if (aliases > 256) {
    return Status::InvalidArgument(file + ": error: " + std::to_string(aliases) +
                                   " YAML aliases; the limit is 256");
  }
  int depth = EstimateYamlDepth(text);
  if (depth > max_depth) {
    return Status::InvalidArgument(file + ": error: YAML nesting is " + std::to_string(depth) +
                                   " levels deep; the limit is " + std::to_string(max_depth));
  }
  try {
    YAML::Node root = YAML::Load(text);
    Diagnostics duplicates;
    std::set<std::tuple<int, int, int>> visited;
    FindDuplicateKeys(root, file, duplicates, visited);
    if (!duplicates.empty()) return duplicates.ToStatus();
    return root;
  } catch (const YAML::Exception& e) {
    SourceLocation where{file, e.mark.is_null() ? 0 : e.mark.line + 1,
                         e.mark.is_null() ? 0 : e.mark.column + 1};
    return Status::InvalidArgument(where.ToString() + ": error: YAML syntax error: " + e.msg);
  }
}

}  // namespace refinery::internal

#include "graph/internal/yaml_util.h"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdlib>

#include "graph/internal/did_you_mean.h"

namespace refinery::internal {

SourceLocation Where(const std::string& file, const YAML::Mark& mark) {
  if (mark.is_null()) return {file, 0, 0};
  return {file, mark.line + 1, mark.column + 1};
}

SourceLocation Where(const std::string& file, const YAML::Node& node) {
  if (!node.IsDefined()) return {file, 0, 0};
  return Where(file, node.Mark());
}

std::string Describe(const YAML::Node& node) {
  if (!node.IsDefined() || node.IsNull()) return "nothing (null)";
  if (node.IsSequence()) return "a list";
  if (node.IsMap()) return "a mapping";
  std::string s = node.Scalar();
  if (s.size() > 40) s = s.substr(0, 37) + "...";
  return "'" + s + "'";
}

bool IsQuoted(const YAML::Node& node) { return node.IsScalar() && node.Tag() == "!"; }

void ReportUnknownKey(const YAML::Node& key, const std::vector<std::string>& allowed,
                      const std::string& file, const std::string& head, Diagnostics& diags,
                      const std::string& note, const std::string& prefix) {
  const std::string name = key.IsScalar() ? key.Scalar() : "";
  diags.Error(Where(file, key), head + " '" + prefix + name + "'" + DidYouMean(name, allowed) +
                                    " (allowed: " + JoinNames(allowed) + note + ")");
}

int CheckKeys(const YAML::Node& map, const std::vector<std::string>& allowed,
              const std::string& file, const std::string& head, Diagnostics& diags,
              const std::string& note) {
  int unknown = 0;
  for (const auto& kv : map) {
    const std::string key = kv.first.IsScalar() ? kv.first.Scalar() : "";
    if (std::find(allowed.begin(), allowed.end(), key) == allowed.end()) {
      ReportUnknownKey(kv.first, allowed, file, head, diags, note);
      ++unknown;
    }
  }
  return unknown;
}

bool ParseBool(const std::string& s, bool* out) {
  if (s == "true" || s == "True" || s == "TRUE") {
    *out = true;
    return true;
  }
  if (s == "false" || s == "False" || s == "FALSE") {
    *out = false;
    return true;
  }
  return false;
}

bool ParseInt(const std::string& s, int64_t* out) {
  if (s.empty()) return false;
  const char* begin = s.data();
  if (*begin == '+') ++begin;
  auto [ptr, ec] = std::from_chars(begin, s.data() + s.size(), *out);
  return ec == std::errc() && ptr == s.data() + s.size();
}

bool ParseDouble(const std::string& s, double* out) {
  if (s.empty()) return false;
  const char* begin = s.data();
  if (*begin == '+') ++begin;
  auto [ptr, ec] = std::from_chars(begin, s.data() + s.size(), *out);
  return ec == std::errc() && ptr == s.data() + s.size() && std::isfinite(*out);
}

}  // namespace refinery::internal

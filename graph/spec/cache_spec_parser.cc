#include "graph/spec/cache_spec_parser.h"

#include "graph/internal/did_you_mean.h"
#include "graph/internal/yaml_util.h"

namespace refinery::internal {

std::optional<int64_t> ParseByteSize(const std::string& text) {
  static const std::pair<const char*, int64_t> kUnits[] = {
      {"GiB", 1ll << 30}, {"MiB", 1ll << 20}, {"KiB", 1ll << 10}, {"B", 1}};
  for (const auto& [suffix, scale] : kUnits) {
    std::string s(suffix);
    if (text.size() > s.size() && text.compare(text.size() - s.size(), s.size(), s) == 0) {
      int64_t n;
      if (!ParseInt(text.substr(0, text.size() - s.size()), &n) || n < 0) return std::nullopt;
      if (n > (int64_t{1} << 50) / scale) return std::nullopt;
      return n * scale;
    }
  }
  int64_t n;
  if (!ParseInt(text, &n) || n < 0) return std::nullopt;
  return n;
}

CacheOverride ParseCacheOverride(const YAML::Node& node, const std::string& file,
                                 const std::string& context, Diagnostics& diags) {
  CacheOverride out;
  bool b;
  if (node.IsScalar() && ParseBool(node.Scalar(), &b)) {
    out.enabled = b;
    return out;
  }
  if (!node.IsMap()) {
    diags.Error(Where(file, node), context + ": 'cache' must be true, false or a mapping with " +
                                       "enabled, capacity, max_bytes, ttl_seconds; found " +
                                       Describe(node));
    return out;
  }
  static const std::vector<std::string> kKeys = {"enabled", "capacity", "max_bytes", "ttl_seconds"};
  for (const auto& kv : node) {
    const std::string key = kv.first.Scalar();
    const YAML::Node& v = kv.second;
    const std::string text = v.IsScalar() ? v.Scalar() : "";
    auto bad = [&](const std::string& allowed) {
      diags.Error(Where(file, v),
                  context + ": cache." + key + " must be " + allowed + ", found " + Describe(v));
    };
    if (key == "enabled") {
      if (ParseBool(text, &b))
        out.enabled = b;
      else
        bad("true or false");
    } else if (key == "capacity") {
      int64_t n;
      if (ParseInt(text, &n) && n >= 1 && n <= 100'000'000)
        out.capacity = n;
      else
        bad("an integer from 1 to 100000000 (entries)");
    } else if (key == "max_bytes") {
      auto n = ParseByteSize(text);
      if (n && *n >= 1024)
        out.max_bytes = *n;
      else
        bad("a size of at least 1KiB, like 1048576 or 64MiB");
    } else if (key == "ttl_seconds") {
      double d;
      if (ParseDouble(text, &d) && d >= 0 && d <= 1e9)
        out.ttl_seconds = d;
      else
        bad("a number of seconds from 0 (never expire) to 1e9");
    } else {
      ReportUnknownKey(kv.first, kKeys, file, context + ": unknown key", diags, "", "cache.");
    }
  }
  return out;
}

}  // namespace refinery::internal

#include "graph/monitor/views/exposition.h"

#include <charconv>
#include <cmath>

namespace refinery::monitor {

namespace {

std::string Escape(const std::string& v) {
  std::string out;
  for (char c : v) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '"')
      out += "\\\"";
    else if (c == '\n')
      out += "\\n";
    else
      out += c;
  }
  return out;
}

std::string Num(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char buf[40];
  auto [end, ec] =
      std::to_chars(buf, buf + sizeof buf, v);  // shortest text that reads back exactly
  return std::string(buf, ec == std::errc() ? end : buf);
}

std::string Format(const Labels& labels) {
  if (labels.empty()) return "";
  std::string out = "{";
  for (size_t i = 0; i < labels.size(); ++i) {
    out += (i ? "," : "") + labels[i].first + "=\"" + Escape(labels[i].second) + "\"";
  }
  return out + "}";
}

}  // namespace

void Exposition::Family(const std::string& name, const std::string& type, const std::string& help) {
  if (families_.emplace(name, order_.size()).second)
    order_.push_back(
        {name, "# HELP " + name + " " + help + "\n# TYPE " + name + " " + type + "\n"});
}

void Exposition::Sample(const std::string& family, const std::string& name, const Labels& labels,
                        double v) {
  order_[families_.at(family)].second += name + Format(labels) + " " + Num(v) + "\n";
}

void Exposition::Histogram(const std::string& name, const Labels& labels,
                           const std::vector<int64_t>& cumulative,
                           const std::vector<double>& bounds, int64_t count, double sum) {
  for (size_t i = 0; i < cumulative.size() && i < bounds.size(); ++i) {
    Labels l = labels;
    l.push_back({"le", Num(bounds[i])});
    Sample(name, name + "_bucket", l, double(cumulative[i]));
  }
  Labels inf = labels;
  inf.push_back({"le", "+Inf"});
  Sample(name, name + "_bucket", inf, double(count));
  Sample(name, name + "_sum", labels, sum);
  Sample(name, name + "_count", labels, double(count));
}

std::string Exposition::Text() const {
  std::string out;
  for (const auto& f : order_) out += f.second;
  return out;
}

}  // namespace refinery::monitor

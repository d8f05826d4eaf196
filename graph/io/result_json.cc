#include "graph/io/result_json.h"

#include <charconv>
#include <cmath>

#include "graph/io/utf8.h"

namespace refinery {

void AppendJsonString(std::string_view s, std::string* out) {
  static const char kHex[] = "0123456789abcdef";
  out->push_back('"');
  size_t run = 0;  // start of the pending run of bytes that need no escaping
  for (size_t i = 0; i < s.size();) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c != '"' && c != '\\' && c != 0x7F) {
      if (c < 0x80) {
        ++i;
        continue;
      }
      if (size_t n = utf8::ValidSequenceLength(s, i)) {
        i += n;
        continue;
      }
    }
    out->append(s.data() + run, i - run);  // flush the plain run, then the escape
    switch (c) {
      case '"':
        out->append("\\\"");
        break;
      case '\\':
        out->append("\\\\");
        break;
      case '\n':
        out->append("\\n");
        break;
      case '\r':
        out->append("\\r");
        break;
      case '\t':
        out->append("\\t");
        break;
      case '\b':
        out->append("\\b");
        break;
      case '\f':
        out->append("\\f");
        break;
      default:
        if (c >= 0x80) {
          // Invalid UTF-8: one U+FFFD for the bad lead byte and the continuation bytes after
          // it, the rule of utf8::ToValidUtf8.
          out->append("\xEF\xBF\xBD");
          while (i + 1 < s.size() && (static_cast<unsigned char>(s[i + 1]) & 0xC0) == 0x80 &&
                 utf8::ValidSequenceLength(s, i + 1) == 0) {
            ++i;
          }
        } else {
          const char esc[] = {'\\', 'u', '0', '0', kHex[c >> 4], kHex[c & 15]};
          out->append(esc, sizeof esc);
        }
    }
    run = ++i;
  }
  out->append(s.data() + run, s.size() - run);
  out->push_back('"');
}

const char* FailureReason(FailureKind kind) {
  switch (kind) {
    case FailureKind::kDeadline:
      return "deadline_exceeded";
    case FailureKind::kCancelled:
      return "cancelled";
    case FailureKind::kNone:
    case FailureKind::kError:
      break;
  }
  return "";
}

namespace {

void AppendString(std::string_view s, std::string* out) { AppendJsonString(s, out); }

void AppendDouble(double d, std::string* out) {
  // The JSON mapping writes non-finite doubles as strings.
  if (std::isnan(d)) return out->append("\"NaN\""), void();
  if (std::isinf(d)) return out->append(d > 0 ? "\"Infinity\"" : "\"-Infinity\""), void();
  char buf[32];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, d);  // shortest round-trip form
  out->append(buf, end);
}

void AppendKey(std::string_view key, std::string* out) {
  AppendString(key, out);
  out->push_back(':');
}

}  // namespace

void AppendResultJson(const Result& r, std::string* out) {
  out->append("{\"id\":");
  AppendString(r.id, out);
  out->append(",\"type\":");
  AppendString(r.type, out);
  out->append(r.ok ? ",\"status\":\"ok\"" : ",\"status\":\"error\"");
  // Fields by kind, each map in key order (FieldMap is sorted), as the proto's three maps.
  for (int kind = 0; kind < 3; ++kind) {
    static const char* kNames[] = {",\"fields\":{", ",\"scores\":{", ",\"tokens\":{"};
    out->append(kNames[kind]);
    bool first = true;
    for (const auto& [name, value] : r.fields) {
      const int index = value.index() == 0 ? 0 : value.index() == 2 ? 1 : 2;
      if (index != kind) continue;
      if (!first) out->push_back(',');
      first = false;
      AppendKey(name, out);
      if (const auto* s = std::get_if<std::string>(&value)) {
        AppendString(*s, out);
      } else if (const auto* d = std::get_if<double>(&value)) {
        AppendDouble(*d, out);
      } else {
        out->append("{\"ids\":[");
        const TokenIds& ids = std::get<TokenIds>(value);
        char buf[16];
        for (size_t i = 0; i < ids.size(); ++i) {
          if (i) out->push_back(',');
          auto [end, ec] = std::to_chars(buf, buf + sizeof buf, ids[i]);
          out->append(buf, end);
        }
        out->append("]}");
      }
    }
    out->push_back('}');
  }
  out->append(",\"iterations\":");
  out->append(std::to_string(r.iterations));
  out->append(",\"latency_ms\":");
  AppendDouble(r.latency_ms, out);
  out->append(",\"trace\":[");
  for (size_t i = 0; i < r.trace.size(); ++i) {
    if (i) out->push_back(',');
    out->append("{\"node\":");
    AppendString(r.trace[i].node, out);
    out->append(",\"micros\":");
    AppendDouble(r.trace[i].micros, out);
    out->append(r.trace[i].cache_hit ? ",\"cache_hit\":true}" : ",\"cache_hit\":false}");
  }
  out->push_back(']');
  if (!r.ok) {
    out->append(",\"error\":{\"node\":");
    AppendString(r.error_node, out);
    out->append(",\"message\":");
    AppendString(r.error_message, out);
    if (const char* reason = FailureReason(r.failure); *reason != '\0') {
      out->append(",\"reason\":");
      AppendString(reason, out);
    }
    out->push_back('}');
  }
  out->push_back('}');
}

}  // namespace refinery

// graph-runner compare: two saved run reports side by side - per request type (tokens per
// request, latency, passes, failures) and per node (p95, busy share) - so a change of model,
// parameters or input shows where tokens and time moved.
#include <google/protobuf/util/json_util.h>

#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>

#include "graph/proto/refinery.pb.h"
#include "tools/graph-runner/commands.h"

namespace refinery::cli {

bool LoadRunReport(const std::string& path, proto::RunReport* out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    std::cerr << path << ": error: cannot read the run report\n";
    return false;
  }
  std::stringstream text;
  text << in.rdbuf();
  auto parsed = google::protobuf::util::JsonStringToMessage(text.str(), out);
  if (!parsed.ok()) {
    std::cerr << path << ": error: not a run report: " << parsed.message() << "\n";
    return false;
  }
  return true;
}

namespace {

std::string Fmt(const char* format, auto... args) {
  char buf[256];
  std::snprintf(buf, sizeof buf, format, args...);
  return buf;
}

// "12.3 -> 10.1 (-18%)", or "-" when neither side has the value.
std::string Change(double before, double after, bool have_before, bool have_after,
                   const char* unit = "") {
  if (!have_before && !have_after) return "-";
  if (!have_before) return Fmt("new %.4g%s", after, unit);
  if (!have_after) return Fmt("%.4g%s gone", before, unit);
  if (before == 0) return Fmt("%.4g -> %.4g%s", before, after, unit);
  return Fmt("%.4g -> %.4g%s (%+.0f%%)", before, after, unit, 100 * (after / before - 1));
}

struct TypeNumbers {
  bool present = false;
  double requests = 0, failed_share = 0, tokens_in = 0, tokens_out = 0, saved_share = 0, p95_ms = 0,
         passes = 0;
};

TypeNumbers Numbers(const proto::TypeReport& t) {
  TypeNumbers n;
  n.present = true;
  n.requests = double(t.requests());
  const double ok = std::max<double>(1, double(t.requests() - t.failed()));
  n.failed_share = t.requests() ? double(t.failed()) / double(t.requests()) : 0;
  n.tokens_in = t.tokens_in() / ok;
  n.tokens_out = t.tokens_out() / ok;
  n.saved_share = t.tokens_in() > 0 ? t.tokens_saved() / t.tokens_in() : 0;
  n.p95_ms = t.latency().p95_us() / 1e3;
  int64_t count = 0;
  double sum = 0;
  for (int i = 0; i < t.iterations_size(); ++i) {
    count += t.iterations(i);
    sum += double(i + 1) * double(t.iterations(i));
  }
  n.passes = count ? sum / double(count) : 0;
  return n;
}

}  // namespace

int CompareCommand(const std::string& before_path, const std::string& after_path) {
  proto::RunReport before, after;
  if (!LoadRunReport(before_path, &before) || !LoadRunReport(after_path, &after)) return 2;
  std::printf("%s (%s) -> %s (%s)\n", before_path.c_str(), before.pipeline().c_str(),
              after_path.c_str(), after.pipeline().c_str());
  std::printf("requests/s %s; request p95 %s\n",
              Change(before.requests_per_second(), after.requests_per_second(), true, true).c_str(),
              Change(before.request_latency().p95_us() / 1e3,
                     after.request_latency().p95_us() / 1e3, true, true, " ms")
                  .c_str());
  std::map<std::string, std::pair<TypeNumbers, TypeNumbers>> types;
  for (const auto& t : before.types()) types[t.type()].first = Numbers(t);
  for (const auto& t : after.types()) types[t.type()].second = Numbers(t);
  for (const auto& [name, pair] : types) {
    const TypeNumbers& a = pair.first;
    const TypeNumbers& b = pair.second;
    std::printf("type %s\n", name.empty() ? "(untyped)" : name.c_str());
    std::printf("  requests        %s\n",
                Change(a.requests, b.requests, a.present, b.present).c_str());
    std::printf("  tokens in/req   %s\n",
                Change(a.tokens_in, b.tokens_in, a.present, b.present).c_str());
    std::printf("  tokens out/req  %s\n",
                Change(a.tokens_out, b.tokens_out, a.present, b.present).c_str());
    std::printf(
        "  saved share     %s\n",
        Change(100 * a.saved_share, 100 * b.saved_share, a.present, b.present, "%").c_str());
    std::printf("  p95 latency     %s\n",
                Change(a.p95_ms, b.p95_ms, a.present, b.present, " ms").c_str());
    std::printf("  passes/req      %s\n", Change(a.passes, b.passes, a.present, b.present).c_str());
    std::printf(
        "  failed share    %s\n",
        Change(100 * a.failed_share, 100 * b.failed_share, a.present, b.present, "%").c_str());
  }
  std::map<std::string, std::pair<const proto::NodeReport*, const proto::NodeReport*>> nodes;
  for (const auto& n : before.nodes()) nodes[n.id()].first = &n;
  for (const auto& n : after.nodes()) nodes[n.id()].second = &n;
  for (const auto& [id, pair] : nodes) {
    const proto::NodeReport* a = pair.first;
    const proto::NodeReport* b = pair.second;
    std::printf("node %-12s p95 %s; busy %s\n", id.c_str(),
                Change(a ? a->latency().p95_us() / 1e3 : 0, b ? b->latency().p95_us() / 1e3 : 0, a,
                       b, " ms")
                    .c_str(),
                Change(a ? a->busy_seconds() : 0, b ? b->busy_seconds() : 0, a, b, " s").c_str());
  }
  return 0;
}

}  // namespace refinery::cli

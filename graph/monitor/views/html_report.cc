#include "graph/monitor/views/html_report.h"

#include <algorithm>
#include <cmath>
#include <map>

#include "graph/monitor/views/svg_chart.h"

namespace refinery::monitor {

namespace {

using svg::Escape;
using svg::Number;

std::string Fmt(const char* format, auto... args) {
  char buf[1024];
  std::snprintf(buf, sizeof buf, format, args...);
  return buf;
}

std::string Ms(double us) {
  if (us >= 1e6) return Fmt("%.2f s", us / 1e6);
  if (us >= 1e3) return Fmt("%.1f ms", us / 1e3);
  return Fmt("%.0f us", us);
}

std::string TypeLabel(const std::string& type) { return type.empty() ? "(untyped)" : type; }

// White (no time) to deep red (all the time): how hot a node is.
std::string Heat(double share) {
  share = std::clamp(share, 0.0, 1.0);
  const int r = 255 - int(40 * share), g = int(245 - 190 * share), b = int(240 - 200 * share);
  return Fmt("rgb(%d,%d,%d)", r, g, b);
}

// The graph: nodes in layers by depth (longest path from a source), edges as arrows, the loop's
// back edge dashed; each node filled by its share of the pipeline's busy time.
std::string GraphSvg(const proto::RunReport& r) {
  std::map<std::string, int> depth;
  double busy_total = 0;
  for (const auto& n : r.nodes()) busy_total += n.busy_seconds();
  for (const auto& n : r.nodes()) {  // execution order is topological: inputs come first
    int d = 0;
    for (const std::string& in : n.inputs()) d = std::max(d, depth.count(in) ? depth[in] + 1 : 0);
    depth[n.id()] = d;
  }
  std::map<int, int> per_layer;
  struct Box {
    double x, y;
  };
  std::map<std::string, Box> at;
  const int w = 150, h = 50, dx = 200, dy = 74;
  int max_layer = 0, max_rows = 1;
  for (const auto& n : r.nodes()) {
    const int d = depth[n.id()];
    const int row = per_layer[d]++;
    at[n.id()] = {20.0 + d * dx, 30.0 + row * dy};
    max_layer = std::max(max_layer, d);
    max_rows = std::max(max_rows, per_layer[d]);
  }
  const int width = 40 + (max_layer + 1) * dx,
            height = 60 + max_rows * dy + (r.loop_size() ? 40 : 0);
  std::string out =
      Fmt(R"~(<svg id="graph" width="%d" height="%d" viewBox="0 0 %d %d" role="img">)~", width,
          height, width, height);
  out +=
      R"~(<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#555"/></marker></defs>)~";
  for (const auto& n : r.nodes()) {
    for (const std::string& in : n.inputs()) {
      if (!at.count(in)) continue;
      const Box a = at[in], b = at[n.id()];
      out += Fmt(
          R"~(<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" class="edge" marker-end="url(#arrow)"/>)~",
          a.x + w, a.y + h / 2.0, b.x, b.y + h / 2.0);
    }
  }
  for (const auto& loop : r.loop()) {
    if (!at.count(loop.from()) || !at.count(loop.to())) continue;
    const Box a = at[loop.from()], b = at[loop.to()];
    const double low = 30.0 + max_rows * dy + 10;
    out += Fmt(
        R"~(<path d="M%.1f,%.1f C%.1f,%.1f %.1f,%.1f %.1f,%.1f" class="loop" marker-end="url(#arrow)"><title>refinement loop: %s back to %s</title></path>)~",
        a.x + w / 2.0, a.y + h, a.x + w / 2.0, low, b.x + w / 2.0, low, b.x + w / 2.0, b.y + h,
        Escape(loop.from()).c_str(), Escape(loop.to()).c_str());
    out += Fmt(R"~(<text x="%.1f" y="%.1f" class="tick" text-anchor="middle">loop</text>)~",
               (a.x + b.x + w) / 2.0, low - 4);
  }
  for (const auto& n : r.nodes()) {
    const Box b = at[n.id()];
    const double share = busy_total > 0 ? n.busy_seconds() / busy_total : 0;
    out += Fmt(
        R"~(<g class="node"><rect x="%.1f" y="%.1f" width="%d" height="%d" rx="6" fill="%s"/>)~",
        b.x, b.y, w, h, Heat(share).c_str());
    out += Fmt(R"~(<title>%s (%s): %.1f%% of busy time, %lld items, p95 %s</title>)~",
               Escape(n.id()).c_str(), Escape(n.type()).c_str(), 100 * share, (long long)n.items(),
               Ms(n.latency().p95_us()).c_str());
    out += Fmt(R"~(<text x="%.1f" y="%.1f" class="node-id" text-anchor="middle">%s</text>)~",
               b.x + w / 2.0, b.y + 20, Escape(n.id()).c_str());
    out +=
        Fmt(R"~(<text x="%.1f" y="%.1f" class="tick" text-anchor="middle">%s · %.1f%%</text></g>)~",
            b.x + w / 2.0, b.y + 38, Escape(n.type()).c_str(), 100 * share);
  }
  return out + "</svg>";
}

std::vector<svg::Bar> HistogramBars(
    const google::protobuf::RepeatedPtrField<proto::HistogramBucket>& buckets, int64_t total) {
  // Cumulative buckets -> counts per bucket, trimmed to the range that holds data.
  std::vector<svg::Bar> bars;
  int64_t previous = 0;
  for (const auto& b : buckets) {
    const int64_t n = b.count() - previous;
    previous = b.count();
    bars.push_back({b.le() >= 1 ? Number(b.le()) + "s" : Number(b.le() * 1e3) + "ms", double(n),
                    Fmt("%lld at or below %s s", (long long)n, Number(b.le()).c_str())});
  }
  bars.push_back({">", double(total - previous),
                  Fmt("%lld above the last bound", (long long)(total - previous))});
  size_t first = 0, last = bars.size();
  while (first < bars.size() && bars[first].value == 0) ++first;
  while (last > first && bars[last - 1].value == 0) --last;
  if (first > 0) --first;
  if (last < bars.size()) ++last;
  return std::vector<svg::Bar>(bars.begin() + first, bars.begin() + std::max(first + 1, last));
}

// Every type's trend windows merged onto the widest window, so the run is one time line.
struct Timeline {
  std::vector<double> t;
  std::vector<double> per_second, tokens_in, tokens_out, failed;
};

Timeline MergeTrends(const proto::RunReport& r) {
  double window = 0, end = 0;
  for (const auto& type : r.types()) {
    for (const auto& p : type.trend()) {
      window = std::max(window, p.seconds());
      end = std::max(end, p.start_seconds() + p.seconds());
    }
  }
  Timeline tl;
  if (window <= 0) return tl;
  const size_t n = size_t(std::ceil(end / window));
  tl.t.resize(n);
  tl.per_second.assign(n, 0);
  tl.tokens_in.assign(n, 0);
  tl.tokens_out.assign(n, 0);
  tl.failed.assign(n, 0);
  for (size_t i = 0; i < n; ++i) tl.t[i] = (double(i) + 1) * window;
  for (const auto& type : r.types()) {
    for (const auto& p : type.trend()) {
      const size_t i = std::min(n - 1, size_t(p.start_seconds() / window));
      tl.per_second[i] += double(p.completed()) / window;
      tl.failed[i] += double(p.failed());
      tl.tokens_in[i] += double(p.tokens_in());
      tl.tokens_out[i] += double(p.tokens_out());
    }
  }
  return tl;
}

const char* kStyle = R"~(
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:24px auto;max-width:1100px;color:#222;padding:0 16px}
h1{font-size:22px;margin:0 0 4px} h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #ddd;padding-bottom:4px}
.sub{color:#666;margin-bottom:16px}
.cards{display:flex;flex-wrap:wrap;gap:10px}
.card{border:1px solid #ddd;border-radius:8px;padding:8px 14px;min-width:120px}
.card b{display:block;font-size:20px}.card span{color:#666;font-size:12px}
.card.bad{border-color:#d7301f;background:#fff3f0}
table{border-collapse:collapse;margin:6px 0}td,th{padding:3px 10px;border-bottom:1px solid #eee;text-align:right}
th{background:#f6f6f6}td:first-child,th:first-child{text-align:left}
.grid{display:flex;flex-wrap:wrap;gap:14px}.panel{border:1px solid #eee;border-radius:6px;padding:6px}
.panel h3{font-size:13px;margin:2px 4px}
svg .axis{stroke:#999}svg .tick{font-size:11px;fill:#555}svg .track{fill:#f1f1f1}
svg .edge{stroke:#555;stroke-width:1.5}svg .loop{stroke:#7a3;stroke-width:1.5;stroke-dasharray:5 4;fill:none}
svg .node rect{stroke:#444}svg .node-id{font-size:13px;font-weight:600}
.firing{color:#b2182b;font-weight:600}.resolved{color:#1a7f37}
.legend{display:inline-block;width:120px;height:10px;background:linear-gradient(90deg,rgb(255,245,240),rgb(215,55,40));vertical-align:middle}
.note{color:#666;font-size:12px}
)~";

// Checks, once the page has loaded, that every chart has drawn something and no script failed;
// the result is on <body data-rendered> (what the headless-browser test reads).
const char* kCheck = R"(<script>
window.__errors=[];window.addEventListener('error',function(e){window.__errors.push(String(e.message));});
window.addEventListener('load',function(){var bad=window.__errors.slice();var svgs=document.querySelectorAll('svg');
for(var i=0;i<svgs.length;i++){var b=svgs[i].getBBox();if(!(b.width>0&&b.height>0))bad.push('chart '+i+' drew nothing');}
document.body.setAttribute('data-svg-count',String(svgs.length));
document.body.setAttribute('data-rendered',bad.length?'errors':'ok');
if(bad.length)document.getElementById('render-errors').textContent=bad.join('; ');});
</script>)";

}  // namespace

std::string RenderHtmlReport(const proto::RunReport& r) {
  std::string h =
      "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>refinery run: " +
      Escape(r.pipeline()) + "</title><style>" + kStyle + "</style>" + kCheck + "</head><body>";
  h += "<h1>Run report: " + Escape(r.pipeline()) + "</h1>";
  h += Fmt("<div class=\"sub\">pipeline version %s · %d threads · %.2f s wall</div>",
           Escape(r.pipeline_version().empty() ? "-" : r.pipeline_version()).c_str(), r.threads(),
           r.wall_seconds());
  auto card = [&](const std::string& value, const std::string& label, bool bad = false) {
    h += "<div class=\"card" + std::string(bad ? " bad" : "") + "\"><b>" + Escape(value) +
         "</b><span>" + Escape(label) + "</span></div>";
  };
  h += "<div class=\"cards\">";
  card(Number(double(r.submitted())), "requests");
  card(Number(double(r.succeeded())), "succeeded");
  card(Number(double(r.failed() + r.input_errors())), "failed (incl. bad input)",
       r.failed() + r.input_errors() > 0);
  card(Number(r.requests_per_second()), "requests / s");
  card(Ms(r.request_latency().p50_us()), "p50 latency");
  card(Ms(r.request_latency().p95_us()), "p95 latency");
  card(Ms(r.request_latency().p99_us()), "p99 latency");
  card(Number(double(r.alerts_fired())), "alerts fired", r.alerts_fired() > 0);
  h += "</div>";

  h += "<h2>Graph</h2><p class=\"note\">Each node coloured by its share of the pipeline's busy "
       "time: "
       "<span class=\"legend\"></span> 0% to 100%. Hover a node for its numbers.</p>";
  h += GraphSvg(r);

  h += "<h2>Latency per "
       "node</h2><table><tr><th>node</th><th>type</th><th>items</th><th>errors</th><th>waiting</th>"
       "<th>p50</th><th>p95</th><th>p99</th><th>max</th><th>busy</th></tr>";
  for (const auto& n : r.nodes()) {
    h +=
        Fmt("<tr><td>%s</td><td>%s</td><td>%lld</td><td>%lld</td><td>%lld</td><td>%s</td><td>%s</"
            "td><td>%s</td><td>%s</td>"
            "<td>%.3f s</td></tr>",
            Escape(n.id()).c_str(), Escape(n.type()).c_str(), (long long)n.items(),
            (long long)n.errors(), (long long)n.waiting(), Ms(n.latency().p50_us()).c_str(),
            Ms(n.latency().p95_us()).c_str(), Ms(n.latency().p99_us()).c_str(),
            Ms(n.latency().max_us()).c_str(), n.busy_seconds());
  }
  h += "</table><div class=\"grid\">";
  for (const auto& n : r.nodes()) {
    if (n.latency().count() == 0) continue;
    h += "<div class=\"panel\"><h3>" + Escape(n.id()) + ": items by latency</h3>" +
         svg::BarChart(HistogramBars(n.latency_histogram(), n.latency().count()), 330, 160,
                       "#3b6ea8", "items") +
         "</div>";
  }
  h += "</div>";

  const Timeline tl = MergeTrends(r);
  if (!tl.t.empty()) {
    h += "<h2>Throughput and tokens over time</h2><div class=\"grid\"><div class=\"panel\">" +
         svg::LineChart(
             tl.t, {{"results / s", "#3b6ea8", tl.per_second}, {"failed", "#d7301f", tl.failed}},
             520, 220, "s", "per window") +
         "</div><div class=\"panel\">" +
         svg::LineChart(
             tl.t, {{"tokens in", "#888", tl.tokens_in}, {"tokens out", "#1a7f37", tl.tokens_out}},
             520, 220, "s", "tokens per window") +
         "</div></div>";
  }

  if (r.types_size() > 0) {
    h += "<h2>Request types: tokens, latency, "
         "iterations</h2><table><tr><th>type</th><th>requests</th><th>failed</th>"
         "<th>tokens in</th><th>tokens out</th><th>saved</th><th>p95 latency</th><th>p95 "
         "pass</th><th>mean passes</th><th>cost</th></tr>";
    std::vector<svg::HBar> savings;
    for (const auto& t : r.types()) {
      int64_t n = 0;
      double passes = 0;
      for (int i = 0; i < t.iterations_size(); ++i) {
        n += t.iterations(i);
        passes += double(i + 1) * double(t.iterations(i));
      }
      const double saved_share = t.tokens_in() > 0 ? t.tokens_saved() / t.tokens_in() : 0;
      h +=
          Fmt("<tr><td>%s</td><td>%lld</td><td>%lld</td><td>%s</td><td>%s</td><td>%s "
              "(%.1f%%)</td><td>%s</td><td>%s</td>"
              "<td>%.2f</td><td>%s</td></tr>",
              Escape(TypeLabel(t.type())).c_str(), (long long)t.requests(), (long long)t.failed(),
              Number(t.tokens_in()).c_str(), Number(t.tokens_out()).c_str(),
              Number(t.tokens_saved()).c_str(), 100 * saved_share, Ms(t.latency().p95_us()).c_str(),
              t.pass_latency().count() ? Ms(t.pass_latency().p95_us()).c_str() : "-",
              n ? passes / double(n) : 0.0, t.cost() > 0 ? Fmt("%.4f", t.cost()).c_str() : "-");
      savings.push_back({TypeLabel(t.type()), saved_share,
                         Fmt("%.1f%% saved (%s of %s tokens)", 100 * saved_share,
                             Number(t.tokens_saved()).c_str(), Number(t.tokens_in()).c_str())});
    }
    h += "</table><h3>Token savings per request type</h3>" +
         svg::HBarChart(savings, 1, 900, "#1a7f37");
    h += "<div class=\"grid\">";
    for (const auto& t : r.types()) {
      std::vector<svg::Bar> bars;
      for (int i = 0; i < t.iterations_size(); ++i) {
        bars.push_back({std::to_string(i + 1), double(t.iterations(i)),
                        Fmt("%lld requests took %d pass%s", (long long)t.iterations(i), i + 1,
                            i ? "es" : "")});
      }
      h += "<div class=\"panel\"><h3>" + Escape(TypeLabel(t.type())) +
           ": requests by iterations</h3>" + svg::BarChart(bars, 300, 150, "#7a3", "requests") +
           "</div>";
    }
    h += "</div>";
  }

  std::vector<svg::HBar> caches;
  for (const auto& n : r.nodes()) {
    if (!n.cache().enabled()) continue;
    const int64_t lookups = n.cache().hits() + n.cache().misses();
    caches.push_back(
        {n.id(), n.cache().hit_rate(),
         Fmt("%.1f%% of %lld lookups; %lld entries, %s bytes, %lld evicted",
             100 * n.cache().hit_rate(), (long long)lookups, (long long)n.cache().entries(),
             Number(double(n.cache().bytes())).c_str(), (long long)n.cache().evictions())});
  }
  h += "<h2>Cache hit rates</h2>";
  h += caches.empty() ? std::string("<p class=\"note\">No node has a cache enabled.</p>")
                      : svg::HBarChart(caches, 1, 900, "#3b6ea8");

  std::string queues;
  for (const auto& n : r.nodes()) {
    if (!n.queue().enabled()) continue;
    const auto& q = n.queue();
    auto flush = [&](const char* reason) {
      auto it = q.flushes().find(reason);
      return (long long)(it == q.flushes().end() ? 0 : it->second);
    };
    queues += Fmt(
        "<tr><td>%s</td><td>%s</td><td>%lld</td><td>%lld</td><td>%.2f</td><td>%lld / %lld / %lld / "
        "%lld</td>"
        "<td>%.2f ms</td><td>%.2f ms</td><td>%lld</td><td>%d, %.2f ms%s</td></tr>",
        Escape(n.id()).c_str(), q.order().c_str(), (long long)q.arrived(), (long long)q.batches(),
        q.mean_batch_size(), flush("full"), flush("tokens"), flush("delay"), flush("drain"),
        q.mean_wait_ms(), q.max_wait_ms(), (long long)q.expired(), q.max_items(), q.max_delay_ms(),
        q.adapt() ? Fmt(" (adapted: %lld up, %lld down, %lld fitted to arrivals; last p95 %.1f ms)",
                        (long long)q.adapt_grow(), (long long)q.adapt_shrink(),
                        (long long)q.adapt_fits(), q.last_window_p95_ms())
                        .c_str()
                  : "");
  }
  if (!queues.empty()) {
    h += "<h2>Queues and "
         "batching</h2><table><tr><th>node</th><th>order</th><th>arrived</th><th>batches</th>"
         "<th>mean batch</th><th>flushed full / tokens / delay / drain</th><th>mean "
         "wait</th><th>max wait</th>"
         "<th>expired</th><th>batch limit at end</th></tr>" +
         queues + "</table>";
  }

  if (r.metrics_size() > 0) {
    h +=
        "<h2>Scores and metrics</h2><table><tr><th>metric</th><th>results</th><th>mean</th><th>95% "
        "interval</th></tr>";
    for (const auto& m : r.metrics()) {
      h += Fmt("<tr><td>%s</td><td>%lld</td><td>%.4f</td><td>[%.4f, %.4f]</td></tr>",
               Escape(m.name()).c_str(), (long long)m.count(), m.mean(), m.low(), m.high());
    }
    h += "</table>";
  }

  bool any_drift = false;
  for (const auto& t : r.types()) any_drift = any_drift || t.drift_size() > 0;
  if (any_drift) {
    h += "<h2>Drift</h2><table><tr><th>type</th><th>metric</th><th>baseline mean</th><th>current "
         "mean</th><th>PSI</th>"
         "<th>KS</th><th>state</th></tr>";
    for (const auto& t : r.types()) {
      for (const auto& d : t.drift()) {
        h +=
            Fmt("<tr><td>%s</td><td>%s</td><td>%.4g (%lld)</td><td>%.4g "
                "(%lld)</td><td>%.3f</td><td>%.3f</td>"
                "<td class=\"%s\">%s</td></tr>",
                Escape(TypeLabel(t.type())).c_str(), Escape(d.metric()).c_str(), d.baseline_mean(),
                (long long)d.baseline_count(), d.current_mean(), (long long)d.current_count(),
                d.psi(), d.ks(), d.drifting() ? "firing" : "resolved",
                d.drifting() ? "drifting" : (d.measured() ? "stable" : "collecting"));
      }
    }
    h += "</table>";
  }

  h += "<h2>Alerts</h2>";
  if (r.alerts_size() == 0) {
    h += "<p class=\"note\">No alerts were raised.</p>";
  } else {
    h += "<table><tr><th>time</th><th>type</th><th>kind</th><th>rule</th><th>state</th><th>value</"
         "th><th>limit</th>"
         "<th style=\"text-align:left\">message</th></tr>";
    for (const auto& a : r.alerts()) {
      h += Fmt(
          "<tr><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td "
          "class=\"%s\">%s</td><td>%.4g</td><td>%.4g</td>"
          "<td style=\"text-align:left\">%s</td></tr>",
          Escape(a.time()).c_str(), Escape(TypeLabel(a.type())).c_str(), Escape(a.kind()).c_str(),
          Escape(a.rule()).c_str(), a.state() == "firing" ? "firing" : "resolved",
          Escape(a.state()).c_str(), a.value(), a.limit(), Escape(a.message()).c_str());
    }
    h += "</table>";
  }
  h += "<p id=\"render-errors\" class=\"firing\"></p></body></html>\n";
  return h;
}

}  // namespace refinery::monitor

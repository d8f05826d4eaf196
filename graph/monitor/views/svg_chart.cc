#include "graph/monitor/views/svg_chart.h"

#include <algorithm>
#include <cmath>

namespace refinery::monitor::svg {

namespace {
std::string Fmt(const char* format, auto... args) {
  char buf[512];
  std::snprintf(buf, sizeof buf, format, args...);
  return buf;
}
// The open <svg>, both axes, the y range's labels and the rotated y-axis title.
std::string OpenWithAxes(int width, int height, int left, int top, double plot_w, double plot_h,
                         double y_max, const std::string& y_label) {
  std::string out =
      Fmt(R"~(<svg class="chart" width="%d" height="%d" viewBox="0 0 %d %d" role="img">)~", width,
          height, width, height);
  out += Fmt(R"~(<line x1="%d" y1="%d" x2="%d" y2="%.1f" class="axis"/>)~", left, top, left,
             top + plot_h);
  out += Fmt(R"~(<line x1="%d" y1="%.1f" x2="%.1f" y2="%.1f" class="axis"/>)~", left, top + plot_h,
             left + plot_w, top + plot_h);
  out += Fmt(R"~(<text x="%d" y="%d" class="tick" text-anchor="end">%s</text>)~", left - 4, top + 8,
             Number(y_max).c_str());
  out += Fmt(R"~(<text x="%d" y="%.1f" class="tick" text-anchor="end">0</text>)~", left - 4,
             top + plot_h);
  out += Fmt(
      R"~(<text x="12" y="%.1f" class="tick" transform="rotate(-90 12 %.1f)" text-anchor="middle">%s</text>)~",
      top + plot_h / 2, top + plot_h / 2, Escape(y_label).c_str());
  return out;
}

}  // namespace

std::string Escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string Number(double v) {
  const double a = std::fabs(v);
  if (a >= 1e9) return Fmt("%.1fG", v / 1e9);
  if (a >= 1e6) return Fmt("%.1fM", v / 1e6);
  if (a >= 1e4) return Fmt("%.1fk", v / 1e3);
  if (a >= 100 || v == std::floor(v)) return Fmt("%.0f", v);
  if (a >= 1) return Fmt("%.2f", v);
  return Fmt("%.3g", v);
}

std::string BarChart(const std::vector<Bar>& bars, int width, int height, const std::string& colour,
                     const std::string& y_label) {
  const int left = 48, bottom = 34, top = 10;
  const double plot_w = width - left - 8, plot_h = height - bottom - top;
  double max = 0;
  for (const Bar& b : bars) max = std::max(max, b.value);
  if (max <= 0) max = 1;
  std::string out = OpenWithAxes(width, height, left, top, plot_w, plot_h, max, y_label);
  const double slot = bars.empty() ? plot_w : plot_w / double(bars.size());
  const size_t label_every = std::max<size_t>(1, size_t(std::ceil(40.0 / std::max(slot, 1.0))));
  for (size_t i = 0; i < bars.size(); ++i) {
    const double h = plot_h * bars[i].value / max;
    const double x = left + slot * double(i) + slot * 0.1;
    out += Fmt(
        R"~(<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s"><title>%s</title></rect>)~",
        x, top + plot_h - h, std::max(1.0, slot * 0.8), std::max(h, bars[i].value > 0 ? 1.0 : 0.0),
        colour.c_str(), Escape(bars[i].title).c_str());
    if (i % label_every == 0) {
      out += Fmt(R"~(<text x="%.1f" y="%.1f" class="tick" text-anchor="middle">%s</text>)~",
                 x + slot * 0.4, top + plot_h + 14, Escape(bars[i].label).c_str());
    }
  }
  return out + "</svg>";
}

std::string LineChart(const std::vector<double>& x, const std::vector<Series>& series, int width,
                      int height, const std::string& x_label, const std::string& y_label) {
  const int left = 52, bottom = 36, top = 22;
  const double plot_w = width - left - 10, plot_h = height - bottom - top;
  double xmax = 0, ymax = 0;
  for (double v : x) xmax = std::max(xmax, v);
  for (const Series& s : series) {
    for (double v : s.y) ymax = std::max(ymax, v);
  }
  if (xmax <= 0) xmax = 1;
  if (ymax <= 0) ymax = 1;
  std::string out = OpenWithAxes(width, height, left, top, plot_w, plot_h, ymax, y_label);
  out += Fmt(R"~(<text x="%.1f" y="%d" class="tick" text-anchor="end">%s</text>)~", left + plot_w,
             height - 4, (Number(xmax) + " " + Escape(x_label)).c_str());
  double legend_x = left;
  for (const Series& s : series) {
    std::string points;
    for (size_t i = 0; i < x.size() && i < s.y.size(); ++i) {
      points +=
          Fmt("%.1f,%.1f ", left + plot_w * x[i] / xmax, top + plot_h - plot_h * s.y[i] / ymax);
    }
    if (x.size() == 1) {  // one window: a dot, since a one-point polyline draws nothing
      out += Fmt(R"~(<circle cx="%.1f" cy="%.1f" r="3" fill="%s"/>)~", left + plot_w * x[0] / xmax,
                 top + plot_h - plot_h * s.y[0] / ymax, s.colour.c_str());
    }
    out += Fmt(
        R"~(<polyline fill="none" stroke="%s" stroke-width="2" points="%s"><title>%s</title></polyline>)~",
        s.colour.c_str(), points.c_str(), Escape(s.name).c_str());
    out += Fmt(
        R"~(<rect x="%.1f" y="6" width="10" height="10" fill="%s"/><text x="%.1f" y="15" class="tick">%s</text>)~",
        legend_x, s.colour.c_str(), legend_x + 14, Escape(s.name).c_str());
    legend_x += 24 + 7.0 * double(s.name.size());
  }
  return out + "</svg>";
}

std::string HBarChart(const std::vector<HBar>& bars, double max, int width,
                      const std::string& colour) {
  const int row = 24, label_w = 150, text_w = 330;
  const int height = std::max<int>(row, row * int(bars.size())) + 4;
  const double plot_w = width - label_w - text_w;
  if (max <= 0) max = 1;
  std::string out =
      Fmt(R"~(<svg class="chart" width="%d" height="%d" viewBox="0 0 %d %d" role="img">)~", width,
          height, width, height);
  for (size_t i = 0; i < bars.size(); ++i) {
    const double y = double(i) * row + 4;
    const double w = plot_w * std::clamp(bars[i].value / max, 0.0, 1.0);
    out += Fmt(R"~(<text x="%d" y="%.1f" class="tick" text-anchor="end">%s</text>)~", label_w - 6,
               y + 13, Escape(bars[i].label).c_str());
    out += Fmt(R"~(<rect x="%d" y="%.1f" width="%.1f" height="16" class="track"/>)~", label_w, y,
               plot_w);
    out += Fmt(
        R"~(<rect x="%d" y="%.1f" width="%.1f" height="16" fill="%s"><title>%s</title></rect>)~",
        label_w, y, std::max(w, 0.0), colour.c_str(), Escape(bars[i].text).c_str());
    out += Fmt(R"~(<text x="%.1f" y="%.1f" class="tick">%s</text>)~", label_w + plot_w + 6, y + 13,
               Escape(bars[i].text).c_str());
  }
  return out + "</svg>";
}

}  // namespace refinery::monitor::svg

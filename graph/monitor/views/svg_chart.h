// Small SVG chart writers for the HTML report: bars and lines with axes, labels and hover titles.
// Output is an <svg> element as text; every label is escaped.
#pragma once

#include <string>
#include <vector>

namespace refinery::monitor::svg {

std::string Escape(const std::string& s);  // for HTML text and attribute values

struct Bar {
  std::string label;  // under the bar
  double value = 0;
  std::string title;  // hover text
};
// Vertical bars, one colour.
std::string BarChart(const std::vector<Bar>& bars, int width, int height, const std::string& colour,
                     const std::string& y_label);

struct Series {
  std::string name;
  std::string colour;
  std::vector<double> y;  // one per x
};
// Lines over shared x values, with a legend.
std::string LineChart(const std::vector<double>& x, const std::vector<Series>& series, int width,
                      int height, const std::string& x_label, const std::string& y_label);

struct HBar {
  std::string label;
  double value = 0;  // 0..max
  std::string text;  // printed at the end of the bar
};
// Horizontal bars against a fixed maximum (e.g. 1 for rates).
std::string HBarChart(const std::vector<HBar>& bars, double max, int width,
                      const std::string& colour);

std::string Number(
    double v);  // short human form: 1234 -> "1234", 0.0123 -> "0.0123", 1.2e6 -> "1.2M"

}  // namespace refinery::monitor::svg

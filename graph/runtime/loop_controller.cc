#include "graph/runtime/loop_controller.h"

#include <algorithm>
#include <cmath>
#include <optional>
#include <sstream>

#include "graph/internal/cycle_clock.h"

namespace refinery {

OptionValues AdjustedOptions(const NodeSpec& node, const std::vector<LoopAdjust>& adjust,
                             int pass) {
  OptionValues values = node.options;
  for (const LoopAdjust& a : adjust) {
    if (a.node != node.id) continue;
    const OptionDef* def = node.contract->options.Find(a.option);
    const double base =
        def->type == OptionType::kInt ? double(values.Int(a.option)) : values.Double(a.option);
    double v = a.op == LoopAdjust::kAdd ? base + a.value * pass : base * std::pow(a.value, pass);
    v = std::clamp(v, *def->min, *def->max);
    if (def->type == OptionType::kInt)
      values.Set(a.option, int64_t(std::llround(v)));
    else
      values.Set(a.option, v);
  }
  return values;
}

void LoopController::Start(TrackedItem& item) const {
  if (!adaptation_) return;
  const int start = adaptation_->StartPass(item.type());
  item.loop_state().start_pass = start;
  item.set_iteration(start);
}

bool LoopController::Again(TrackedItem& item) const {
  LoopState& st = item.loop_state();
  const int pass = item.iteration();  // 0-based pass that just ran
  const uint64_t pass_end = internal::CycleClock::Now();
  const uint64_t pass_start = st.pass_start_ticks ? st.pass_start_ticks : item.submitted_ticks();
  st.pass_ms.push_back(pass_end > pass_start ? double(pass_end - pass_start) * nanos_per_tick_ / 1e6
                                             : 0);
  st.pass_start_ticks = pass_end;
  std::optional<double> previous;
  if (!spec_.metric.empty()) {
    const std::optional<double> metric = item.number(spec_.metric);
    if (!metric) {
      item.Fail("loop", "loop metric '" + spec_.metric + "' is not a number on the item after '" +
                            spec_.from + "'");
      return false;
    }
    if (!st.scores.empty()) previous = st.scores.back();
    st.scores.push_back(*metric);
    if (st.best_pass < 0 || *metric > st.best) {
      st.best = *metric;
      st.best_pass = pass;
      if (spec_.on_exhausted == LoopSpec::kBest) st.best_fields = item.fields();
    }
  }
  if (!spec_.budget_field.empty()) st.spent += item.number(spec_.budget_field).value_or(0);
  StatusOr<bool> passed = spec_.until->Evaluate(item);
  if (!passed.ok()) {
    item.Fail("loop",
              "loop condition \"" + spec_.until->text() + "\": " + passed.status().message());
    return false;
  }
  const char* stop = nullptr;
  if (*passed)
    stop = "passed";
  else if (pass + 1 >= spec_.max_iterations)
    stop = "max_iterations";
  else if (spec_.min_delta > 0 && previous && st.scores.back() - *previous < spec_.min_delta)
    stop = "converged";
  else if (spec_.budget > 0 && st.spent >= spec_.budget)
    stop = "budget";
  else if (spec_.time_budget_ms > 0) {
    const uint64_t now = internal::CycleClock::Now();
    const double ms = now > item.submitted_ticks()
                          ? double(now - item.submitted_ticks()) * nanos_per_tick_ / 1e6
                          : 0;
    if (ms >= spec_.time_budget_ms) stop = "time_budget";
  }
  if (stop) {
    Finish(item, stop, *passed);
    return false;
  }
  item.set_iteration(pass + 1);
  return true;
}

void LoopController::Finish(TrackedItem& item, const char* reason, bool passed) const {
  LoopState& st = item.loop_state();
  const int last_pass = item.iteration();            // 0-based, counted from pass 0 of the schedule
  const int passes = last_pass + 1 - st.start_pass;  // passes this item ran
  if (adaptation_) adaptation_->Record(item.type(), passed ? last_pass : -1);
  if (!passed && spec_.on_exhausted == LoopSpec::kBest && st.best_pass >= 0 &&
      st.best_pass != last_pass) {
    item.set_fields(st.best_fields);  // the best pass's outputs, not the last one's
  }
  std::ostringstream scores;
  scores << '[';
  for (size_t i = 0; i < st.scores.size(); ++i) scores << (i ? ", " : "") << st.scores[i];
  scores << ']';
  item.set_number("loop.passes", passes);
  item.set_text("loop.stop_reason", reason);
  item.set_number("loop.best_pass", st.best_pass + 1 - st.start_pass);
  if (adaptation_) item.set_number("loop.start_pass", st.start_pass);
  item.set_text("loop.pass_scores", scores.str());
  item.set_number("loop.spent", st.spent);
  item.set_number("loop.passed", passed ? 1 : 0);
  item.set_iteration(passes);
  if (!passed && spec_.on_exhausted == LoopSpec::kError) {
    item.Fail("loop", "loop ended without \"" + spec_.until->text() + "\" after " +
                          std::to_string(passes) + " passes (" + reason + "); pass scores " +
                          scores.str());
  }
}

}  // namespace refinery

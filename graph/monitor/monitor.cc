#include "graph/monitor/monitor.h"

#include <google/protobuf/util/json_util.h>
#include <spdlog/spdlog.h>

#include <fstream>

#include "graph/internal/yaml_guard.h"
#include "graph/proto/refinery.pb.h"

namespace refinery::monitor {

StatusOr<std::unique_ptr<Monitor>> Monitor::Create(MonitorConfig config, std::string pipeline) {
  auto m = std::unique_ptr<Monitor>(new Monitor(std::move(config), std::move(pipeline)));
  const MonitorConfig& c = m->config_;
  if (!c.enabled) return m;
  if (!c.alerts.file.empty()) {
    auto sink = JsonLinesAlertSink::Open(c.alerts.file);
    if (!sink.ok()) return sink.status();
    m->sinks_.push_back(std::move(*sink));
  }
  if (!c.alerts.webhook.empty()) {
    auto sink = WebhookAlertSink::Create(c.alerts.webhook, c.alerts.webhook_timeout_seconds);
    if (!sink.ok()) return sink.status();
    m->sinks_.push_back(std::move(*sink));
  }
  if (c.drift.enabled && !c.drift.baseline_file.empty()) {
    // A regular file of bounded size (a FIFO must not block the engine's creation).
    StatusOr<std::string> text = internal::ReadTextFile(c.drift.baseline_file, 256 << 20);
    if (!text.ok()) {
      return Status::InvalidArgument(text.status().message() +
                                     " (the drift baseline file cannot be read)");
    }
    proto::DriftBaseline saved;
    auto parsed = google::protobuf::util::JsonStringToMessage(*text, &saved);
    if (!parsed.ok()) {
      return Status::InvalidArgument(c.drift.baseline_file +
                                     ": error: not a drift baseline file (" +
                                     std::string(parsed.message()) + ")");
    }
    for (const auto& [type, metrics] : saved.types()) {
      for (const auto& [metric, values] : metrics.metrics()) {
        m->saved_baselines_[type][metric].assign(values.values().begin(), values.values().end());
      }
    }
  }
  return m;
}

Monitor::Monitor(MonitorConfig config, std::string pipeline)
    : config_(std::move(config)), pipeline_(std::move(pipeline)) {}

Monitor::~Monitor() = default;

void Monitor::AddSink(std::unique_ptr<AlertSink> sink) { sinks_.push_back(std::move(sink)); }

Status Monitor::SinkStatus() const {
  for (const auto& sink : sinks_)
    if (Status s = sink->WriteStatus(); !s.ok()) return s;
  return Status::Ok();
}

TypeMonitor& Monitor::ForType(std::string_view type) {
  {
    std::shared_lock lock(types_mu_);
    auto it = types_.find(type);
    if (it != types_.end()) return *it->second;
  }
  std::unique_lock lock(types_mu_);
  if (int64_t(types_.size()) >= config_.max_types && !types_.count(type)) type = kOtherTypes;
  auto it = types_.find(type);
  if (it == types_.end()) {
    static const std::map<std::string, std::vector<double>> kNone;
    auto saved = saved_baselines_.find(std::string(type));
    it = types_
             .emplace(std::string(type),
                      std::make_unique<TypeMonitor>(
                          std::string(type), config_,
                          saved == saved_baselines_.end() ? kNone : saved->second))
             .first;
  }
  return *it->second;
}

void Monitor::Observe(Observation o) {
  if (!config_.enabled) return;
  if (o.at_seconds < 0)
    o.at_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  std::vector<Alert> alerts = ForType(o.type).Observe(o);
  if (!alerts.empty()) Publish(alerts);
}

void Monitor::Publish(std::vector<Alert>& alerts) {
  for (Alert& a : alerts) {
    a.time = NowRfc3339();
    a.pipeline = pipeline_;
    if (a.state == "firing")
      spdlog::warn("alert [{} {}] {}", a.kind, a.rule, a.message);
    else
      spdlog::info("alert resolved [{} {}] {}", a.kind, a.rule, a.message);
    {
      std::lock_guard lock(alerts_mu_);
      if (a.state == "firing") {
        ++alert_counts_[{a.kind, a.rule, a.type}];
        ++alerts_firing_;
      }
      recent_alerts_.push_back(a);
      if (recent_alerts_.size() > 200) recent_alerts_.pop_front();
    }
    for (auto& sink : sinks_) sink->Publish(a);
  }
}

MonitorSnapshot Monitor::Snapshot() const {
  MonitorSnapshot s;
  s.enabled = config_.enabled;
  {
    std::shared_lock lock(types_mu_);
    for (const auto& [name, t] : types_) s.types.push_back(t->Snapshot());
  }
  std::lock_guard lock(alerts_mu_);
  for (const auto& [key, n] : alert_counts_) {
    s.alert_counts.push_back({std::get<0>(key), std::get<1>(key), std::get<2>(key), n});
  }
  s.recent_alerts.assign(recent_alerts_.begin(), recent_alerts_.end());
  s.alerts_firing_total = alerts_firing_;
  return s;
}

Status Monitor::SaveBaselines(const std::string& path) const {
  proto::DriftBaseline out;
  out.set_pipeline(pipeline_);
  {
    std::shared_lock lock(types_mu_);
    for (const auto& [name, t] : types_) {
      for (const auto& [metric, values] : t->Baselines()) {
        auto& v = (*(*out.mutable_types())[name].mutable_metrics())[metric];
        v.mutable_values()->Add(values.begin(), values.end());
      }
    }
  }
  std::string json;
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  auto printed = google::protobuf::util::MessageToJsonString(out, &json, options);
  std::ofstream file(path, std::ios::binary);
  file << json << "\n";
  if (!printed.ok() || !file)
    return Status::InvalidArgument(path + ": error: cannot write the drift baseline file");
  return Status::Ok();
}

}  // namespace refinery::monitor

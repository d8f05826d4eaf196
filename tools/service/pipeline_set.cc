#include "tools/service/pipeline_set.h"

#include <ctime>

#include "graph/spec/pipeline_loader.h"

namespace refinery::service {

namespace {

std::string UtcNow() {
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return text;
}

void AppendError(const Status& s, std::string* errors) {
  *errors += s.message();
  if (!s.message().empty() && s.message().back() != '\n') *errors += '\n';
}

}  // namespace

StatusOr<std::shared_ptr<const PipelineSet>> PipelineSet::Load(
    const std::vector<std::string>& files, const std::string& config_file,
    const std::vector<std::string>& sets, int threads) {
  std::string errors;
  Overrides overrides;
  for (const std::string& text : sets) {
    StatusOr<Override> o = ParseOverride(text);
    if (!o.ok())
      AppendError(o.status(), &errors);
    else
      overrides.push_back(std::move(o).value());
  }
  RuntimeConfig config;
  if (!config_file.empty()) {
    StatusOr<RuntimeConfig> c = LoadRuntimeConfig(config_file);
    if (!c.ok())
      AppendError(c.status(), &errors);
    else
      config = std::move(c).value();
  }
  if (!errors.empty()) return Status::InvalidArgument(errors);
  // Every file is validated before any engine is built: one run of errors for all of them.
  std::vector<PipelineSpec> specs;
  std::map<std::string, std::string> file_of;
  for (const std::string& file : files) {
    StatusOr<PipelineSpec> spec = LoadPipelineFile(file, overrides, config);
    if (!spec.ok()) {
      AppendError(spec.status(), &errors);
      continue;
    }
    auto [it, fresh] = file_of.emplace(spec->name, file);
    if (!fresh) {
      errors += file + ": error: pipeline name '" + spec->name + "' is also the name of " +
                it->second + "; each served pipeline needs its own name\n";
      continue;
    }
    specs.push_back(std::move(spec).value());
  }
  if (!errors.empty()) return Status::InvalidArgument(errors);
  auto set = std::make_shared<PipelineSet>();
  const std::string now = UtcNow();
  for (PipelineSpec& spec : specs) {
    EngineOptions options;
    options.threads = threads;
    if (config.monitoring) options.monitoring = *config.monitoring;
    const std::string name = spec.name;
    const std::string file = spec.file;
    StatusOr<std::unique_ptr<Engine>> engine = Engine::Create(std::move(spec), options);
    if (!engine.ok()) return engine.status().WithContext(file + ": error");
    set->pipelines_[name] = {std::shared_ptr<Engine>(std::move(engine).value()), file, now,
                             std::chrono::steady_clock::now()};
  }
  return std::shared_ptr<const PipelineSet>(std::move(set));
}

StatusOr<const ServedPipeline*> PipelineSet::Find(const std::string& name) const {
  if (name.empty() && pipelines_.size() == 1) return &pipelines_.begin()->second;
  auto it = pipelines_.find(name);
  if (it != pipelines_.end()) return &it->second;
  std::string served;
  for (const auto& [n, _] : pipelines_) served += (served.empty() ? "'" : ", '") + n + "'";
  if (name.empty()) {
    return Status::NotFound("no pipeline named; this server serves " + served +
                            ": set RunRequest.pipeline or the metadata 'refinery-pipeline'");
  }
  return Status::NotFound("no pipeline '" + name + "'; this server serves " + served);
}

}  // namespace refinery::service

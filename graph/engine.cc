#include "graph/engine.h"

#include "graph/runtime/engine_core.h"
#include "graph/spec/pipeline_loader.h"

namespace refinery {

namespace {
StatusOr<std::unique_ptr<Engine>> Load(StatusOr<PipelineSpec> spec, const RuntimeConfig& config,
                                       EngineOptions options) {
  if (!spec.ok()) return spec.status();
  if (config.monitoring) options.monitoring = *config.monitoring;
  return Engine::Create(std::move(spec).value(), std::move(options));
}
}  // namespace

Engine::Engine(std::unique_ptr<EngineCore> core) : core_(std::move(core)) {}
Engine::~Engine() = default;  // EngineCore's destructor shuts down and drains

StatusOr<std::unique_ptr<Engine>> Engine::Create(PipelineSpec spec, EngineOptions options) {
  StatusOr<std::unique_ptr<EngineCore>> core =
      EngineCore::Create(std::move(spec), std::move(options));
  if (!core.ok()) return core.status();
  return std::unique_ptr<Engine>(new Engine(std::move(core).value()));
}

StatusOr<std::unique_ptr<Engine>> Engine::FromFile(const std::string& path,
                                                   const Overrides& overrides,
                                                   const RuntimeConfig& config,
                                                   EngineOptions options) {
  return Load(LoadPipelineFile(path, overrides, config), config, std::move(options));
}

StatusOr<std::unique_ptr<Engine>> Engine::FromString(const std::string& yaml,
                                                     const std::string& name,
                                                     const Overrides& overrides,
                                                     const RuntimeConfig& config,
                                                     EngineOptions options) {
  return Load(LoadPipelineString(yaml, name, overrides, config), config, std::move(options));
}

Status Engine::Submit(Request request, ResultCallback on_result) {
  return core_->Submit(std::move(request), std::move(on_result));
}
std::future<Result> Engine::Submit(Request request) { return core_->Submit(std::move(request)); }
Status Engine::SubmitUntil(Request request, ResultCallback on_result,
                           std::chrono::steady_clock::time_point wait_until) {
  return core_->SubmitUntil(std::move(request), std::move(on_result), wait_until);
}
Status Engine::Run(const RequestSource& next, ResultCallback on_result) {
  return core_->Run(next, std::move(on_result));
}
void Engine::Drain() { core_->Drain(); }
void Engine::Shutdown() { core_->Shutdown(); }
void Engine::StopAccepting() { core_->StopAccepting(); }
EngineStats Engine::Stats(StatsDetail detail) const { return core_->Stats(detail); }
const std::string& Engine::pipeline_name() const { return core_->spec().name; }
int Engine::threads() const { return core_->threads(); }
void Engine::ClearCaches() { core_->ClearCaches(); }
const PipelineSpec& Engine::spec() const { return core_->spec(); }
monitor::Monitor& Engine::monitor() { return core_->monitor(); }

}  // namespace refinery

// Loading a pipeline file: read safely -> parse YAML -> validate everything -> PipelineSpec.
//
//   Overrides overrides;
//   overrides.push_back(ParseOverride("cut.max_tokens=512").value());
//   StatusOr<PipelineSpec> spec = LoadPipelineFile("pipelines/compress.yaml", overrides);
//   if (!spec.ok()) std::cerr << spec.status().message();  // every error, file:line:col each
//
// Hostile input (binary data, huge or deeply nested files, alias bombs, directories, missing
// files) gets an InvalidArgument/NotFound status, never a crash, hang or unbounded allocation.
#pragma once

#include <yaml-cpp/yaml.h>

#include <string>
#include <vector>

#include "graph/runtime_config.h"
#include "graph/spec/pipeline_spec.h"
#include "graph/status.h"

namespace refinery {

inline constexpr size_t kMaxPipelineFileBytes = 1 << 20;
inline constexpr int kMaxYamlDepth = 64;

StatusOr<PipelineSpec> LoadPipelineFile(const std::string& path, const Overrides& overrides = {},
                                        const RuntimeConfig& config = {});
StatusOr<PipelineSpec> LoadPipelineString(const std::string& yaml, const std::string& name,
                                          const Overrides& overrides = {},
                                          const RuntimeConfig& config = {});

}  // namespace refinery

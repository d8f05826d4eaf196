// Parses one node option's YAML value against its OptionDef (graph/options.h): the type, the
// range, the choices; every mistake is a located diagnostic.
#pragma once

#include <yaml-cpp/yaml.h>

#include <optional>
#include <string>

#include "graph/options.h"
#include "graph/spec/diagnostics.h"

namespace refinery {

// On error adds a located diagnostic prefixed with `context` (e.g. "node 'cut' (truncate)") and
// returns nullopt.
std::optional<OptionValue> ParseOptionValue(const OptionDef& def, const YAML::Node& node,
                                            const std::string& file, const std::string& context,
                                            Diagnostics& diags);

}  // namespace refinery

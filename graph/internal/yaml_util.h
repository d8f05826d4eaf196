// Small helpers over yaml-cpp shared by the pipeline parser, option parsing and config files.
#pragma once

#include <yaml-cpp/yaml.h>

#include <string>
#include <vector>

#include "graph/spec/diagnostics.h"

namespace refinery::internal {

// yaml-cpp marks are 0-based; messages are 1-based.
SourceLocation Where(const std::string& file, const YAML::Node& node);
SourceLocation Where(const std::string& file, const YAML::Mark& mark);

// What was found, for messages: "'abc'" for a scalar (shortened), "a list", "a mapping".
std::string Describe(const YAML::Node& node);

// True when the scalar was written in quotes (yaml-cpp tags those "!").
bool IsQuoted(const YAML::Node& node);

// Scalar conversions that accept only the whole text (yaml-cpp's as<int> accepts "12abc"? no,
// but it accepts "0x10" and booleans spelt "y"/"n"; pipelines take YAML 1.2 core forms).
bool ParseBool(const std::string& s, bool* out);
bool ParseInt(const std::string& s, int64_t* out);
bool ParseDouble(const std::string& s, double* out);

// The one way every parser of pipeline and config files reports a mapping key it does not know,
// located at the key: "<head> '<prefix><key>'; did you mean '...'? (allowed: a, b<note>)".
void ReportUnknownKey(const YAML::Node& key, const std::vector<std::string>& allowed,
                      const std::string& file, const std::string& head, Diagnostics& diags,
                      const std::string& note = "", const std::string& prefix = "");
// Reports (as above) every key of `map` that is not in `allowed`. Returns the number reported.
int CheckKeys(const YAML::Node& map, const std::vector<std::string>& allowed,
              const std::string& file, const std::string& head, Diagnostics& diags,
              const std::string& note = "");

}  // namespace refinery::internal

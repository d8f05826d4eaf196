// Small helpers over yaml-cpp shared by the pipeline parser, option parsing and config files.
#pragma once

#include <yaml-cpp/yaml.h>

#include <string>

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

}  // namespace refinery::internal

// Defences in front of yaml-cpp, which is a recursive parser with no limits of its own: size,
// encoding and nesting are checked on the raw text before it is parsed, so binary garbage, huge
// scalars and deeply nested documents get a located error instead of a crash or a hang.
#pragma once

#include <yaml-cpp/yaml.h>

#include <string>

#include "graph/spec/diagnostics.h"
#include "graph/status.h"

namespace refinery::internal {

// Reads a whole regular file of at most max_bytes. NotFound for a missing file; InvalidArgument
// for a directory, an unreadable or an oversized file.
StatusOr<std::string> ReadTextFile(const std::string& path, size_t max_bytes);

// Checks size, UTF-8, NUL bytes, nesting depth and alias count, then parses. Syntax errors come
// back as "file:line:col: error: YAML syntax error: ...".
StatusOr<YAML::Node> SafeLoadYaml(const std::string& text, const std::string& file,
                                  size_t max_bytes, int max_depth);

// Estimated nesting depth (block indentation levels + "- " chains + flow brackets); exposed for
// tests.
int EstimateYamlDepth(const std::string& text);

}  // namespace refinery::internal

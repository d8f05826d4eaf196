// The whole of a file as a string ("" when it cannot be read): for tests that check what a
// child process wrote (its output, its log, a report).
#pragma once

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace refinery::testing {

inline std::string ReadFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace refinery::testing

// ScratchPath: a file name in the test temp directory that no other test process uses. ctest
// runs tests in parallel processes; a model file rewritten by one while another has it mapped
// would be a SIGBUS, so every process writes its own.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <string>

namespace refinery::testing {

inline std::string ScratchPath(const std::string& name) {
  return ::testing::TempDir() + "/refinery-" + std::to_string(::getpid()) + "-" + name;
}

}  // namespace refinery::testing

// What a test may find missing, and how it says so.
//
// ../shared (test data beside the clone) is the one thing a test may skip without: a new user's
// bare clone has none. Everything tools/setup.sh provides (tokenizer rank files, the tiny model,
// promtool, chromium, script) is required: a test that needs it and does not find it FAILS and
// names the set-up step, so a failed set-up can never pass as a green run with skipped tests.
// This header holds the suite's only GTEST_SKIP (tools/run-tests.sh checks that).
#pragma once

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <string>

namespace refinery::testing {

// ../shared beside the project, with a trailing slash: SharedPath("models/") etc.
inline std::string SharedPath(const std::string& relative) {
  return std::string(PROJECT_DIR) + "/../shared/" + relative;
}

inline bool HaveProgram(const std::string& program) {
  return std::system(("command -v " + program + " >/dev/null 2>&1").c_str()) == 0;
}

}  // namespace refinery::testing

// Skips the test when a ../shared file is absent (bare clone); the only allowed skip.
#define REFINERY_SKIP_WITHOUT_SHARED(path) \
  if (!std::filesystem::exists(path))      \
  GTEST_SKIP() << (path) << " not present: ../shared is not beside the clone"

// Fails the test when a program the test set-up installs is missing.
#define REFINERY_REQUIRE_PROGRAM(program, package)                                            \
  ASSERT_TRUE(::refinery::testing::HaveProgram(program))                                      \
      << (program) << " is not installed: tools/run-tests.sh installs Debian's " << (package) \
      << " (tools/setup.sh --tests)"

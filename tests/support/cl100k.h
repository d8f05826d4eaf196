// The cl100k_base encoding for tests that count tokens: REQUIRE_VOCAB() fails the test (naming
// the set-up step) when the rank file is missing; Tokens() counts with it.
#pragma once

#include <gtest/gtest.h>

#include <string>

#include "nodes/text/tiktoken_encoding.h"

#define REQUIRE_VOCAB()                                                            \
  ASSERT_TRUE(::refinery::text::TiktokenEncoding::Get("cl100k_base").ok())         \
      << ::refinery::text::TiktokenEncoding::Get("cl100k_base").status().message() \
      << " (tools/setup.sh fetches it)"

namespace refinery::testing {

inline size_t Tokens(const std::string& s) {
  return (*text::TiktokenEncoding::Get("cl100k_base"))->CountOrdinary(s);
}

}  // namespace refinery::testing

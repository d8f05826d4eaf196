// Shared by the libFuzzer harnesses (tests/fuzz, built by tools/fuzz.sh with
// -DREFINERY_FUZZ=ON): quiet logging, and the input as a string.
#pragma once

#include <spdlog/spdlog.h>

#include <cstddef>
#include <cstdint>
#include <string>

namespace refinery::fuzz {

inline std::string Input(const uint8_t* data, size_t size) {
  static const bool quiet = [] {
    spdlog::set_level(spdlog::level::off);
    return true;
  }();
  (void)quiet;
  return std::string(reinterpret_cast<const char*>(data), size);
}

}  // namespace refinery::fuzz

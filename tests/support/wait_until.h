// WaitUntil: for tests that wait for another thread to reach a state (a request held inside a
// node, a queue with N waiting): polls `done` every 2 ms, for at most `limit`, and says whether
// it became true. Bounded, so a broken engine fails the test instead of hanging it.
#pragma once

#include <chrono>
#include <thread>

namespace refinery::testing {

template <typename Predicate>
bool WaitUntil(Predicate&& done, std::chrono::milliseconds limit = std::chrono::seconds(10)) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!done()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return true;
}

}  // namespace refinery::testing

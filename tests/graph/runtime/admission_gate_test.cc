#include "graph/runtime/admission_gate.h"

#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/wait_until.h"

namespace refinery {
namespace {

TEST(AdmissionGate, NeverExceedsCapacityUnderContention) {
  AdmissionGate gate(5);
  std::atomic<int> inside{0}, worst{0}, done{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 2000; ++i) {
        ASSERT_TRUE(gate.Acquire());
        int now = ++inside;
        int w = worst.load();
        while (now > w && !worst.compare_exchange_weak(w, now)) {
        }
        --inside;
        gate.Release();
        ++done;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(done.load(), 16000);
  EXPECT_LE(worst.load(), 5);
  EXPECT_EQ(gate.in_flight(), 0);
  EXPECT_LE(gate.peak_in_flight(), 5);
}

TEST(AdmissionGate, CloseWakesBlockedSubmitters) {
  AdmissionGate gate(1);
  ASSERT_TRUE(gate.Acquire());
  std::atomic<int> result{-1};
  std::thread waiter([&] { result = gate.Acquire() ? 1 : 0; });
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  EXPECT_EQ(result.load(), -1);  // still blocked
  gate.Close();
  waiter.join();
  EXPECT_EQ(result.load(), 0);
  EXPECT_FALSE(gate.Acquire());
}

TEST(AdmissionGate, BlockedSubmitterWakesWhenSlotsFree) {
  AdmissionGate gate(4);
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(gate.Acquire());
  std::atomic<bool> got{false};
  std::thread waiter([&] { got = gate.Acquire(); });
  for (int i = 0; i < 4; ++i) gate.Release();
  waiter.join();
  EXPECT_TRUE(got.load());
}

TEST(AdmissionGate, AHigherPriorityWaiterIsAdmittedFirst) {
  AdmissionGate gate(2);
  ASSERT_TRUE(gate.Acquire());
  ASSERT_TRUE(gate.Acquire());
  std::mutex mu;
  std::vector<std::string> order;
  auto wait = [&](const std::string& name, int32_t priority) {
    return std::thread([&, name, priority] {
      ASSERT_TRUE(gate.Acquire(priority));
      std::lock_guard lock(mu);
      order.push_back(name);
    });
  };
  std::thread low = wait("low", 0);  // waits first
  ASSERT_TRUE(testing::WaitUntil([&] { return gate.waiting() == 1; }));
  std::thread high = wait("high", 10);
  ASSERT_TRUE(testing::WaitUntil([&] { return gate.waiting() == 2; }));
  gate.Release();  // one slot: the high-priority waiter's, though the other came first
  ASSERT_TRUE(testing::WaitUntil([&] {
    std::lock_guard lock(mu);
    return !order.empty();
  }));
  {
    std::lock_guard lock(mu);
    EXPECT_EQ(order, std::vector<std::string>{"high"});
  }
  gate.Release();
  low.join();
  high.join();
  EXPECT_EQ(order, (std::vector<std::string>{"high", "low"}));
  EXPECT_EQ(gate.in_flight(), 2);
}

}  // namespace
}  // namespace refinery

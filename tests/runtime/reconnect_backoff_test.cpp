#include <actorsync/actors/reconnect_backoff.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <vector>

using namespace std::chrono_literals;
using actorsync::runtime::backoff_config;
using actorsync::runtime::reconnect_backoff;

namespace {

reconnect_backoff::random_source fixed(double value) {
  return [value] { return value; };
}

}  // namespace

TEST(ReconnectBackoff, BaseDoublesFromOneSecondToEightSeconds) {
  reconnect_backoff backoff({}, fixed(0.0));  // no reduction: each delay is the base
  std::vector<long long> seen;
  for (int i = 0; i < 7; ++i) seen.push_back(backoff.next_delay().count());
  std::vector<long long> expected{1000, 2000, 4000, 8000, 8000, 8000, 8000};
  EXPECT_EQ(seen, expected);
}

TEST(ReconnectBackoff, FullJitterDrawsFromZeroToTheBase) {
  reconnect_backoff half({}, fixed(0.5));
  EXPECT_EQ(half.next_delay(), 500ms);
  EXPECT_EQ(half.next_delay(), 1000ms);
  EXPECT_EQ(half.next_delay(), 2000ms);
  EXPECT_EQ(half.next_delay(), 4000ms);
  EXPECT_EQ(half.next_delay(), 4000ms);
  reconnect_backoff quarter({}, fixed(0.75));
  EXPECT_EQ(quarter.next_delay(), 250ms);
  EXPECT_EQ(quarter.next_delay(), 500ms);
}

TEST(ReconnectBackoff, FloorKeepsADelayFromBeingZero) {
  reconnect_backoff high({}, fixed(0.999999));  // the draw at the bottom of the range
  EXPECT_EQ(high.floor(), 100ms);               // initial / 10
  for (int i = 0; i < 6; ++i) EXPECT_EQ(high.next_delay(), 100ms) << "failure " << i;
  backoff_config tiny;
  tiny.initial = 5ms;
  reconnect_backoff small(tiny, fixed(0.999999));
  EXPECT_EQ(small.floor(), 1ms);  // never 0 ms, however small the initial delay
  EXPECT_EQ(small.next_delay(), 1ms);
}

TEST(ReconnectBackoff, SeededDelaysStayWithinTheFloorAndTheCapAndSpanTheRange) {
  std::mt19937_64 engine{17};
  reconnect_backoff backoff(
      {}, [&engine] { return std::uniform_real_distribution<double>(0.0, 1.0)(engine); });
  std::chrono::milliseconds shortest = 1h;
  auto longest = 0ms;
  for (int i = 0; i < 10'000; ++i) {
    const auto base = backoff.current_base();
    const auto d = backoff.next_delay();
    ASSERT_GE(d, backoff.floor()) << "failure " << i;
    ASSERT_LE(d, base) << "failure " << i;
    ASSERT_LE(d, 8000ms) << "failure " << i;
    if (base == 8000ms) {
      shortest = std::min(shortest, d);
      longest = std::max(longest, d);
    }
  }
  // Full jitter: at the cap the delays cover [0, 8 s], not only its top quarter.
  EXPECT_LT(shortest, 500ms);
  EXPECT_GT(longest, 7500ms);
}

TEST(ReconnectBackoff, HealthyConnectionResetsTheDelay) {
  reconnect_backoff backoff({}, fixed(0.0));
  for (int i = 0; i < 5; ++i) backoff.next_delay();
  EXPECT_EQ(backoff.current_base(), 8000ms);
  reconnect_backoff::clock::time_point t0{};
  backoff.connected(t0);
  backoff.disconnected(t0 + 3s);
  EXPECT_EQ(backoff.next_delay(), 1000ms);
  EXPECT_EQ(backoff.next_delay(), 2000ms);  // and grows again from there
}

TEST(ReconnectBackoff, FirstDelayAfterAHealthyLinkIsAtMostTheInitialDelay) {
  std::mt19937_64 engine{20};
  reconnect_backoff backoff(
      {}, [&engine] { return std::uniform_real_distribution<double>(0.0, 1.0)(engine); });
  reconnect_backoff::clock::time_point now{};
  for (int round = 0; round < 1000; ++round) {
    for (int i = 0; i < 1 + round % 7; ++i) backoff.next_delay();  // an outage of a few attempts
    backoff.connected(now);
    now += backoff.config().healthy_after;
    backoff.disconnected(now);
    const auto first = backoff.next_delay();
    ASSERT_LE(first, 1000ms) << "round " << round;
    ASSERT_GE(first, 100ms) << "round " << round;
  }
}

TEST(ReconnectBackoff, ShortLivedConnectionKeepsGrowing) {
  reconnect_backoff backoff({}, fixed(0.0));
  backoff.next_delay();
  backoff.next_delay();
  reconnect_backoff::clock::time_point t0{};
  backoff.connected(t0);
  backoff.disconnected(t0 + 2999ms);
  EXPECT_EQ(backoff.next_delay(), 4000ms);
}

TEST(ReconnectBackoff, DisconnectWithoutConnectDoesNotReset) {
  reconnect_backoff backoff({}, fixed(0.0));
  backoff.next_delay();
  backoff.disconnected(reconnect_backoff::clock::time_point{} + 1h);
  EXPECT_EQ(backoff.next_delay(), 2000ms);
}

TEST(ReconnectBackoff, CustomConfigurationIsHonoured) {
  backoff_config config;
  config.initial = 10ms;
  config.maximum = 35ms;
  config.max_jitter = 0.0;
  reconnect_backoff backoff(config, fixed(0.9));
  EXPECT_EQ(backoff.next_delay(), 10ms);
  EXPECT_EQ(backoff.next_delay(), 20ms);
  EXPECT_EQ(backoff.next_delay(), 35ms);
  EXPECT_EQ(backoff.next_delay(), 35ms);
  backoff.reset();
  EXPECT_EQ(backoff.next_delay(), 10ms);
}

TEST(ReconnectBackoff, DefaultRandomSourceStaysInRange) {
  auto random = actorsync::runtime::default_random_source();
  for (int i = 0; i < 1000; ++i) {
    double v = random();
    ASSERT_GE(v, 0.0);
    ASSERT_LT(v, 1.0);
  }
}

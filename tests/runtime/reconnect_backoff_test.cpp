#include <actorsync/actors/reconnect_backoff.hpp>

#include <gtest/gtest.h>

using namespace std::chrono_literals;
using actorsync::runtime::backoff_config;
using actorsync::runtime::reconnect_backoff;

namespace {

reconnect_backoff::random_source fixed(double value) {
  return [value] { return value; };
}

}  // namespace

TEST(ReconnectBackoff, DoublesFromOneSecondToFiveMinutesWithoutJitter) {
  reconnect_backoff backoff({}, fixed(0.0));
  std::vector<long long> seen;
  for (int i = 0; i < 11; ++i) seen.push_back(backoff.next_delay().count());
  std::vector<long long> expected{1000,  2000,   4000,   8000,   16000, 32000,
                                  64000, 128000, 256000, 300000, 300000};
  EXPECT_EQ(seen, expected);
}

TEST(ReconnectBackoff, JitterRemovesUpToAQuarter) {
  reconnect_backoff high({}, fixed(0.999999));
  auto d = high.next_delay();
  EXPECT_GT(d, 750ms);
  EXPECT_LE(d, 751ms);
  reconnect_backoff half({}, fixed(0.5));
  EXPECT_EQ(half.next_delay(), 875ms);
  EXPECT_EQ(half.next_delay(), 1750ms);
}

TEST(ReconnectBackoff, HealthyConnectionResetsTheDelay) {
  reconnect_backoff backoff({}, fixed(0.0));
  for (int i = 0; i < 5; ++i) backoff.next_delay();
  EXPECT_EQ(backoff.current_base(), 32000ms);
  reconnect_backoff::clock::time_point t0{};
  backoff.connected(t0);
  backoff.disconnected(t0 + 10s);
  EXPECT_EQ(backoff.next_delay(), 1000ms);
}

TEST(ReconnectBackoff, ShortLivedConnectionKeepsGrowing) {
  reconnect_backoff backoff({}, fixed(0.0));
  backoff.next_delay();
  backoff.next_delay();
  reconnect_backoff::clock::time_point t0{};
  backoff.connected(t0);
  backoff.disconnected(t0 + 9s);
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

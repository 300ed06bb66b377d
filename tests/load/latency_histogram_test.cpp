#include "tools/load/latency_histogram.hpp"

#include <gtest/gtest.h>

#include <random>

namespace actorsync::load {
namespace {

using std::chrono::microseconds;

TEST(LatencyHistogram, EmptyHistogramReportsZero) {
  latency_histogram h;
  EXPECT_EQ(h.count(), 0u);
  EXPECT_EQ(h.percentile(0.99), microseconds(0));
}

TEST(LatencyHistogram, SmallValuesAreExact) {
  latency_histogram h;
  for (int us = 1; us <= 50; ++us) h.record(microseconds(us));
  EXPECT_EQ(h.percentile(0.5), microseconds(25));
  EXPECT_EQ(h.percentile(1.0), microseconds(50));
  EXPECT_EQ(h.max(), microseconds(50));
}

TEST(LatencyHistogram, PercentilesStayWithinTwoPercentOfTheTrueValue) {
  std::mt19937_64 random(42);
  std::lognormal_distribution<double> latency(8.0, 1.5);  // around 3 ms, long tail
  std::vector<std::int64_t> samples;
  latency_histogram h;
  for (int i = 0; i < 100000; ++i) {
    const auto us = static_cast<std::int64_t>(latency(random)) + 1;
    samples.push_back(us);
    h.record(microseconds(us));
  }
  std::sort(samples.begin(), samples.end());
  for (double q : {0.5, 0.9, 0.99, 0.999}) {
    const auto exact =
        static_cast<double>(samples[static_cast<std::size_t>(q * samples.size()) - 1]);
    const auto estimate = static_cast<double>(h.percentile(q).count());
    EXPECT_NEAR(estimate, exact, exact * 0.02) << "quantile " << q;
  }
  EXPECT_EQ(h.max().count(), samples.back());
}

TEST(LatencyHistogram, MergeAddsCountsAndKeepsTheMaximum) {
  latency_histogram a, b;
  a.record(microseconds(10));
  b.record(microseconds(5000));
  b.record(microseconds(20));
  a.merge(b);
  EXPECT_EQ(a.count(), 3u);
  EXPECT_EQ(a.max(), microseconds(5000));
  std::uint64_t total = 0;
  for (const auto& bucket : a.buckets()) total += bucket.count;
  EXPECT_EQ(total, 3u);
}

TEST(LatencyHistogram, HugeAndNegativeValuesAreClampedNotLost) {
  latency_histogram h;
  h.record(microseconds(-5));
  h.record(microseconds(std::int64_t{1} << 50));
  EXPECT_EQ(h.count(), 2u);
  EXPECT_EQ(h.percentile(0.0), microseconds(0));
}

}  // namespace
}  // namespace actorsync::load

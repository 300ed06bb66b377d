#include "tools/load/latency_histogram.hpp"

#include <algorithm>
#include <bit>
#include <cmath>

namespace actorsync::load {

namespace {
constexpr std::uint64_t sub_buckets = std::uint64_t{1} << latency_histogram::sub_bucket_bits;
}

// Values below `sub_buckets` get one bucket each; above, each power of two is split into
// `sub_buckets` equal parts.
std::size_t latency_histogram::index_of(std::uint64_t us) {
  if (us < sub_buckets) return static_cast<std::size_t>(us);
  const int octave = std::bit_width(us) - 1 - sub_bucket_bits;  // >= 0
  const auto sub = (us >> octave) - sub_buckets;                // 0..sub_buckets-1
  const auto index = (static_cast<std::size_t>(octave) + 1) * sub_buckets + sub;
  return std::min(index, bucket_count - 1);
}

std::uint64_t latency_histogram::lower_bound_of(std::size_t index) {
  if (index < sub_buckets) return index;
  const auto octave = index / sub_buckets - 1;
  const auto sub = index % sub_buckets;
  return (sub_buckets + sub) << octave;
}

void latency_histogram::record(std::chrono::microseconds latency) {
  const auto us = static_cast<std::uint64_t>(std::max<std::int64_t>(latency.count(), 0));
  ++counts_[index_of(us)];
  ++count_;
  max_us_ = std::max(max_us_, us);
}

void latency_histogram::merge(const latency_histogram& other) {
  for (std::size_t i = 0; i < bucket_count; ++i) counts_[i] += other.counts_[i];
  count_ += other.count_;
  max_us_ = std::max(max_us_, other.max_us_);
}

std::chrono::microseconds latency_histogram::percentile(double quantile) const {
  if (count_ == 0) return std::chrono::microseconds(0);
  const auto q = std::clamp(quantile, 0.0, 1.0);
  const auto rank = std::max<std::uint64_t>(1, static_cast<std::uint64_t>(std::ceil(q * count_)));
  std::uint64_t seen = 0;
  for (std::size_t i = 0; i < bucket_count; ++i) {
    seen += counts_[i];
    if (seen >= rank) {
      // Report the bucket's upper edge, capped by the true maximum.
      const auto upper = i + 1 < bucket_count ? lower_bound_of(i + 1) - 1 : max_us_;
      return std::chrono::microseconds(std::min(upper, max_us_));
    }
  }
  return max();
}

std::vector<latency_histogram::bucket> latency_histogram::buckets() const {
  std::vector<bucket> out;
  for (std::size_t i = 0; i < bucket_count; ++i) {
    if (counts_[i] == 0) continue;
    const auto upper = i + 1 < bucket_count ? lower_bound_of(i + 1) - 1 : max_us_;
    out.push_back({lower_bound_of(i), upper, counts_[i]});
  }
  return out;
}

}  // namespace actorsync::load

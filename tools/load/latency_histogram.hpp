// Log-linear latency histogram (about 1.5% relative precision, 1 µs to ~1 hour) with
// percentiles. Plain data, not thread-safe: keep one per thread or actor and merge.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <vector>

namespace actorsync::load {

class latency_histogram {
 public:
  /// Sub-buckets per power of two: 64 gives <= 1/64 relative error.
  static constexpr int sub_bucket_bits = 6;
  static constexpr int octaves = 32;  ///< 2^32 µs is more than an hour

  void record(std::chrono::microseconds latency);
  void merge(const latency_histogram& other);

  std::uint64_t count() const { return count_; }
  std::chrono::microseconds max() const { return std::chrono::microseconds(max_us_); }
  /// The smallest recorded bucket value v such that at least `quantile` of samples are <= v.
  std::chrono::microseconds percentile(double quantile) const;

  struct bucket {
    std::uint64_t lower_us;
    std::uint64_t upper_us;
    std::uint64_t count;
  };
  /// Non-empty buckets, ascending, for plotting.
  std::vector<bucket> buckets() const;

 private:
  static constexpr std::size_t bucket_count = (octaves + 1) << sub_bucket_bits;
  static std::size_t index_of(std::uint64_t us);
  static std::uint64_t lower_bound_of(std::size_t index);

  std::array<std::uint64_t, bucket_count> counts_{};
  std::uint64_t count_ = 0;
  std::uint64_t max_us_ = 0;
};

}  // namespace actorsync::load

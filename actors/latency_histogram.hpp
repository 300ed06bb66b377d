// A latency histogram with fixed buckets (1 ms to 60 s), recorded with one relaxed atomic add
// per observation from any thread, rendered as a Prometheus histogram. Pure logic, no CAF.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

namespace actorsync::runtime {

class latency_histogram {
 public:
  /// Upper bounds of the buckets in milliseconds (a last one, +Inf, holds the rest).
  static constexpr std::array<std::uint32_t, 14> bounds_ms{
      1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 60000};

  void observe(std::chrono::microseconds latency);

  std::uint64_t count() const;
  /// The smallest bucket bound holding at least `quantile` (0..1] of the observations, in ms;
  /// 0 without observations, UINT32_MAX when it falls in +Inf.
  std::uint32_t quantile_bound_ms(double quantile) const;
  /// `# HELP`, `# TYPE` and the _bucket (cumulative, `le` in seconds), _sum and _count lines.
  void render(std::string& out, std::string_view name, std::string_view help) const;

 private:
  std::array<std::atomic<std::uint64_t>, bounds_ms.size() + 1> counts_{};
  std::atomic<std::uint64_t> sum_micros_{0};
};

}  // namespace actorsync::runtime

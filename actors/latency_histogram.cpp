#include "actors/latency_histogram.hpp"

#include <algorithm>
#include <cstdio>
#include <limits>

namespace actorsync::runtime {

void latency_histogram::observe(std::chrono::microseconds latency) {
  const auto micros = static_cast<std::uint64_t>(std::max<std::int64_t>(0, latency.count()));
  const auto at = std::lower_bound(
      bounds_ms.begin(), bounds_ms.end(), static_cast<std::uint64_t>((micros + 999) / 1000),
      [](std::uint32_t bound, std::uint64_t ms) { return bound < ms; });
  counts_[static_cast<std::size_t>(at - bounds_ms.begin())].fetch_add(1, std::memory_order_relaxed);
  sum_micros_.fetch_add(micros, std::memory_order_relaxed);
}

std::uint64_t latency_histogram::count() const {
  std::uint64_t total = 0;
  for (const auto& c : counts_) total += c.load(std::memory_order_relaxed);
  return total;
}

std::uint32_t latency_histogram::quantile_bound_ms(double quantile) const {
  const auto total = count();
  if (total == 0) return 0;
  const auto wanted = static_cast<std::uint64_t>(quantile * static_cast<double>(total) + 0.5);
  std::uint64_t seen = 0;
  for (std::size_t i = 0; i < bounds_ms.size(); ++i) {
    seen += counts_[i].load(std::memory_order_relaxed);
    if (seen >= std::max<std::uint64_t>(wanted, 1)) return bounds_ms[i];
  }
  return std::numeric_limits<std::uint32_t>::max();
}

void latency_histogram::render(std::string& out, std::string_view name,
                               std::string_view help) const {
  const std::string n(name);
  out += "# HELP " + n + " " + std::string(help) + "\n# TYPE " + n + " histogram\n";
  std::uint64_t cumulative = 0;
  char le[32];
  for (std::size_t i = 0; i < bounds_ms.size(); ++i) {
    cumulative += counts_[i].load(std::memory_order_relaxed);
    std::snprintf(le, sizeof le, "%g", bounds_ms[i] / 1000.0);
    out += n + "_bucket{le=\"" + le + "\"} " + std::to_string(cumulative) + "\n";
  }
  cumulative += counts_.back().load(std::memory_order_relaxed);
  out += n + "_bucket{le=\"+Inf\"} " + std::to_string(cumulative) + "\n";
  std::snprintf(le, sizeof le, "%.6f", sum_micros_.load(std::memory_order_relaxed) / 1e6);
  out += n + "_sum " + le + "\n" + n + "_count " + std::to_string(cumulative) + "\n";
}

}  // namespace actorsync::runtime

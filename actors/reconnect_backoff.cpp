#include <actorsync/actors/reconnect_backoff.hpp>

#include <algorithm>
#include <random>

namespace actorsync::runtime {

reconnect_backoff::reconnect_backoff(backoff_config config, random_source random)
    : config_(config), random_(std::move(random)), base_(config.initial) {}

std::chrono::milliseconds reconnect_backoff::next_delay() {
  auto base = base_;
  base_ = std::min(config_.maximum, base_ * 2);
  double fraction = std::clamp(random_(), 0.0, 1.0) * std::clamp(config_.max_jitter, 0.0, 1.0);
  auto jitter = std::chrono::milliseconds(static_cast<long long>(base.count() * fraction));
  return std::max(base - jitter, std::min(base, floor()));
}

std::chrono::milliseconds reconnect_backoff::floor() const {
  using std::chrono::milliseconds;
  return std::max(milliseconds(1), config_.initial / 10);
}

void reconnect_backoff::connected(clock::time_point now) {
  connected_at_ = now;
  is_connected_ = true;
}

void reconnect_backoff::disconnected(clock::time_point now) {
  if (is_connected_ && now - connected_at_ >= config_.healthy_after) reset();
  is_connected_ = false;
}

reconnect_backoff::random_source default_random_source() {
  // One engine per thread, not per instance: sessions are many and small.
  return [] {
    thread_local std::mt19937_64 engine{std::random_device{}()};
    return std::uniform_real_distribution<double>(0.0, 1.0)(engine);
  };
}

}  // namespace actorsync::runtime

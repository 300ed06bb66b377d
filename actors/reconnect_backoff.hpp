// Reconnect delays: exponential backoff with full jitter, reset after a healthy connection.
// Each delay is drawn uniformly from [0, base] and raised to a floor of initial / 10 (at least
// 1 ms, never above the base); the base doubles
// from `initial` up to `maximum` at every failure and goes back to `initial` once a link stayed up
// for `healthy_after`, so the first retry after a healthy link comes within `initial`.
// Pure logic with an injected random source; time points are passed in, so tests need no clock.
// Defaults and why: runtime_tuning.hpp.
#pragma once

#include <chrono>
#include <functional>

#include <actorsync/actors/runtime_tuning.hpp>

namespace actorsync::runtime {

struct backoff_config {
  std::chrono::milliseconds initial = tuning::backoff_initial;
  std::chrono::milliseconds maximum = tuning::backoff_maximum;
  /// Each delay is the base reduced by a random fraction in [0, max_jitter) of it, never below
  /// the floor: 1.0 (the default) is full jitter, 0.0 no jitter.
  double max_jitter = tuning::backoff_max_jitter;
  std::chrono::milliseconds healthy_after = tuning::backoff_healthy_after;  ///< resets the backoff
};

class reconnect_backoff {
 public:
  using clock = std::chrono::steady_clock;
  /// Returns a uniformly distributed value in [0, 1).
  using random_source = std::function<double()>;

  reconnect_backoff(backoff_config config, random_source random);

  /// The delay before the next attempt after a failure, in [floor(), current_base()]; then
  /// doubles the base up to the maximum.
  std::chrono::milliseconds next_delay();
  /// The shortest delay: initial / 10, at least 1 ms (a base below it is used as it is).
  std::chrono::milliseconds floor() const;
  /// The base the next delay is drawn from (before jitter).
  std::chrono::milliseconds current_base() const { return base_; }

  /// The link is up (handshake done).
  void connected(clock::time_point now);
  /// The link went down; resets the backoff when it had been up for healthy_after.
  void disconnected(clock::time_point now);
  /// Back to the initial delay.
  void reset() { base_ = config_.initial; }

  const backoff_config& config() const { return config_; }

 private:
  backoff_config config_;
  random_source random_;
  std::chrono::milliseconds base_;
  clock::time_point connected_at_{};
  bool is_connected_ = false;
};

/// A random source backed by a per-thread Mersenne Twister seeded from std::random_device.
reconnect_backoff::random_source default_random_source();

}  // namespace actorsync::runtime

// Reconnect delays: exponential backoff with jitter, reset after a healthy connection.
// Pure logic with an injected random source; time points are passed in, so tests need no clock.
// Defaults follow Realm's client (1 s doubling to 5 min, minus up to 25 % jitter); unlike Realm,
// a connection that stayed up for `healthy_after` resets the delay to the initial value, so a
// server restart after a week of uptime is not met with a five-minute wait.
#pragma once

#include <chrono>
#include <functional>

namespace actorsync::runtime {

struct backoff_config {
  std::chrono::milliseconds initial{1000};
  std::chrono::milliseconds maximum{5 * 60 * 1000};
  double max_jitter = 0.25;  ///< each delay is reduced by a random fraction in [0, max_jitter)
  std::chrono::milliseconds healthy_after{10 * 1000};  ///< uptime that resets the backoff
};

class reconnect_backoff {
 public:
  using clock = std::chrono::steady_clock;
  /// Returns a uniformly distributed value in [0, 1).
  using random_source = std::function<double()>;

  reconnect_backoff(backoff_config config, random_source random);

  /// The delay before the next attempt after a failure; doubles the base up to the maximum.
  std::chrono::milliseconds next_delay();
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

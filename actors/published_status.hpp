// What a session publishes for readers on other threads: the api facade and app::statistics()
// read it without a round trip to the session. Pure logic (atomics), no CAF.
//
// Two writers: the session actor, and the facade's pause() and resume(), which publish their
// outcome at once ("announce") and only then send the request. So that the session, handling an
// older request, never overwrites what a newer call announced (state() would flicker back), the
// state and the number of facade requests still in flight share one atomic word: the session
// settles a facade request by publishing its own state only when no later one is pending.
#pragma once

#include <atomic>
#include <cstdint>

#include <actorsync/actors/session_types.hpp>
#include "actors/fleet_counters.hpp"

namespace actorsync::runtime {

class published_status {
 public:
  session_state state() const { return state_of(word_.load()); }
  connection_state connection() const { return connection_.load(); }
  void set_connection(connection_state now) { connection_.store(now); }

  /// The facade's pause() or resume(), before it sends its request: one more request is in
  /// flight, and the state becomes `to` when it is `from`. True when it changed.
  bool announce(session_state from, session_state to) {
    auto word = word_.load();
    for (;;) {
      const auto next = state_of(word) == from ? to : state_of(word);
      if (word_.compare_exchange_weak(word, pack(pending_of(word) + 1, next)))
        return next != state_of(word);
    }
  }

  /// The session handled a facade request and is now in `now`: published unless a later facade
  /// request is still in flight (its announced state stands until it is settled too), or `now`
  /// is inactive, which always shows.
  void settle(session_state now) {
    auto word = word_.load();
    for (;;) {
      const auto pending = pending_of(word) == 0 ? 0 : pending_of(word) - 1;
      const auto shown = pending == 0 || now == session_state::inactive ? now : state_of(word);
      if (word_.compare_exchange_weak(word, pack(pending, shown))) return;
    }
  }

  /// The session's state at its start, unless a facade request is in flight: the session starts
  /// after the facade may have called pause() and resume() (its actor is initialised when first
  /// scheduled), and those calls' announced state stands until the session handles them.
  void publish_at_start(session_state now) {
    auto word = word_.load();
    while (pending_of(word) == 0 && !word_.compare_exchange_weak(word, pack(0, now))) {
    }
  }

  /// Any other change of the session's (stop, a pause through its actor handle).
  void publish(session_state now) {
    auto word = word_.load();
    while (!word_.compare_exchange_weak(word, pack(pending_of(word), now))) {
    }
  }

 private:
  static constexpr std::uint32_t state_mask = 0xff;
  static std::uint32_t pack(std::uint32_t pending, session_state state) {
    return pending << 8 | static_cast<std::uint32_t>(state);
  }
  static session_state state_of(std::uint32_t word) {
    return static_cast<session_state>(word & state_mask);
  }
  static std::uint32_t pending_of(std::uint32_t word) { return word >> 8; }

  std::atomic<std::uint32_t> word_{pack(0, session_state::active)};
  std::atomic<connection_state> connection_{connection_state::disconnected};

 public:
  /// What the session added to its app's fleet_counters: written by the session only, and by
  /// the app once the session has terminated (it removes it then).
  fleet_contribution fleet;
};

}  // namespace actorsync::runtime

// CAF 0.17 ONLY. Every use the runtime makes of CAF 0.17.6 internals is in this file, so that an
// upgrade of CAF touches one place. Each saves measured memory on idle sessions; with 100,000
// sessions in one process they are the difference between ~3 KB and ~4.5 KB per session
// (docs/BENCHMARKS.md, idle sessions):
//
// - shared_behavior_actor: one behavior shared by every actor of a kind. CAF 0.17 allocates a
//   behavior (one object per handler, ~42 B each) per actor that builds one: ~800 B per session.
//   The shared handlers have no captures and reach their actor's state through a thread-local
//   pointer that the overridden resume() sets, the only place CAF 0.17 invokes an actor's
//   behavior (and its down and exit handlers) from.
// - ordinary timers: one per actor and type, set again to move it and cancelled when unused,
//   dispatched by an overridden consume() (CAF drops a timeout of an unknown type before the
//   behavior sees it). A delayed message, the public alternative, cannot be cancelled and stays
//   in CAF's clock until it fires (~120 B per idle session with a pending wait timeout).
// - tsan_acquire/tsan_release: tell ThreadSanitizer about the hand-off when the consume()
//   override reads a message before CAF's own consume() does. Debian's libcaf_core is not
//   instrumented; the TSan build's hooks on CAF's exported functions (tools/tsan/, bound to
//   CAF 0.17.6's mangled names) state the rest. No-ops outside TSan builds.
//
// Upgrading CAF: 0.18 changed actor resumption and the clock API; replace this file's pieces
// with a behavior per actor and a delayed message per timer, then measure the idle memory again.
#pragma once

#include <chrono>
#include <cstdint>
#include <utility>

#include <caf/actor_clock.hpp>
#include <caf/atom.hpp>
#include <caf/scheduled_actor.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/system_messages.hpp>

#if defined(__SANITIZE_THREAD__)
extern "C" void __tsan_acquire(void* address);
extern "C" void __tsan_release(void* address);
#endif

namespace actorsync::runtime::caf_0_17 {

inline void tsan_acquire([[maybe_unused]] const void* address) {
#if defined(__SANITIZE_THREAD__)
  __tsan_acquire(const_cast<void*>(address));
#endif
}

inline void tsan_release([[maybe_unused]] const void* address) {
#if defined(__SANITIZE_THREAD__)
  __tsan_release(const_cast<void*>(address));
#endif
}

/// (Re)sets the actor's one ordinary timer of `type`: it fires at `at` with `id`, delivered to
/// the State's on_timer(id) by shared_behavior_actor. Setting it again moves it.
inline void set_timer(caf::scheduled_actor* self, caf::atom_value type,
                      caf::actor_clock::time_point at, std::uint64_t id) {
  self->clock().set_ordinary_timeout(at, self, type, id);
}

inline void cancel_timer(caf::scheduled_actor* self, caf::atom_value type) {
  self->clock().cancel_ordinary_timeout(self, type);
}

/// A stateful actor of typed interface `Interface` whose behavior is shared by every instance.
/// State must provide `bool on_timer(caf::atom_value type, std::uint64_t id)` for the timers set
/// with set_timer(), returning false for a type it did not set (CAF's own timeouts then go on
/// to CAF). Handlers reach the running actor's state with current().
template <class State, class Interface>
class shared_behavior_actor : public caf::stateful_actor<State, typename Interface::base> {
 public:
  using super = caf::stateful_actor<State, typename Interface::base>;
  using super::super;

  /// The state of the actor whose handlers run on this thread.
  static State& current() { return *current_; }

  caf::invoke_message_result consume(caf::mailbox_element& x) override {
    // This override reads the message, and may run a handler, before CAF's consume does.
    tsan_acquire(&x);
    if (x.content().match_elements<caf::timeout_msg>()) {
      const auto& timeout = x.content().template get_as<caf::timeout_msg>(0);
      const auto* actor = static_cast<caf::scheduled_actor*>(this);
      tsan_acquire(actor);
      const bool handled = this->state.on_timer(timeout.type, timeout.timeout_id);
      tsan_release(actor);
      if (handled) return caf::invoke_message_result::consumed;
    }
    return super::consume(x);
  }

  caf::resumable::resume_result resume(caf::execution_unit* unit, std::size_t max) override {
    auto* previous = std::exchange(current_, &this->state);
    auto result = super::resume(unit, max);
    current_ = previous;
    return result;
  }

 private:
  static inline thread_local State* current_ = nullptr;
};

}  // namespace actorsync::runtime::caf_0_17

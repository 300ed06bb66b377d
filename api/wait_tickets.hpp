// Internal to api/: the bridge actor's table of waits in flight. The facade's upload and download
// waits go to sessions as ticketed_wait and come back as wait_done (session_messages.hpp), looked
// up here in O(1); CAF 0.17's own response table is a vector searched linearly, which made the
// bridge quadratic in the number of waits in flight. Touched only on the bridge actor.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <unordered_map>

#include <caf/actor.hpp>
#include <caf/actor_addr.hpp>
#include <caf/fwd.hpp>

#include <actorsync/actors/session_messages.hpp>

namespace actorsync::api {

class wait_tickets {
 public:
  /// Sends the wait to `session`, which the bridge monitors while it owes the bridge an outcome:
  /// a session that is gone (or goes) without answering fails the wait with `gone`.
  void issue(runtime::bridge_actor::pointer bridge, const runtime::issue_wait& request);
  /// A session answered: runs the wait's callback.
  void complete(runtime::bridge_actor::pointer bridge, const runtime::wait_done& done);
  /// A monitored session terminated: its remaining waits fail.
  void session_down(const caf::actor_addr& session);

  std::size_t in_flight() const { return pending_.size(); }

 private:
  struct pending {
    caf::actor_addr session;
    std::shared_ptr<const runtime::wait_completion> completion;
  };
  void forget(runtime::bridge_actor::pointer bridge, const caf::actor_addr& session);

  std::uint64_t next_ticket_ = 1;
  std::unordered_map<std::uint64_t, pending> pending_;
  std::unordered_map<caf::actor_addr, std::size_t> watched_;  ///< session -> waits in flight
};

}  // namespace actorsync::api

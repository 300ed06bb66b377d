// Gets a request to a realm's owner, wherever it is. A request to the realm's subject is
// answered by the node that owns the realm; "no responders" (nobody owns it, or its owner is
// gone) or a reply saying the realm moved makes the router ask the preferred live node
// (rendezvous hashing) to take the realm, then try again, until a deadline a little past the
// lease time (a dead owner's realms can be taken only once its lease expired). A lost reply is
// retried with the same bytes: uploads are idempotent by (client file ident, client version).
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "cluster/bus_messages.hpp"

namespace actorsync::cluster {

class nats_bus;

struct router_options {
  std::string node_id;
  std::chrono::milliseconds request_timeout{5000};  ///< one attempt's wait for the owner
  std::chrono::milliseconds give_up_after{15000};   ///< lease time + margin
  std::chrono::milliseconds retry_delay{100};       ///< between attempts that found no owner
};

struct router_stats {
  std::uint64_t requests = 0;
  std::uint64_t retries = 0;
  std::uint64_t takes_requested = 0;
  std::uint64_t gave_up = 0;
};

class realm_router {
 public:
  using live_nodes_function = std::function<storage::result<std::vector<std::string>>()>;
  realm_router(std::shared_ptr<nats_bus> bus, live_nodes_function live_nodes,
               router_options options);
  ~realm_router();  ///< pending requests complete with closed
  realm_router(const realm_router&) = delete;
  realm_router& operator=(const realm_router&) = delete;

  using reply_callback = std::function<void(storage::result<bus_reply>)>;
  /// Sends `request` (upload or allocate_ident) to the owner of request.realm. `done` runs
  /// once, on a bus or router thread: with the owner's reply (which may be a refusal), or
  /// unavailable once no owner could be found in time, or closed.
  void to_owner(bus_request request, reply_callback done);

  router_stats stats() const;

 private:
  struct impl;
  std::shared_ptr<impl> impl_;
};

}  // namespace actorsync::cluster

// Internal. What every server actor may read: the options, the token verifier (the secret and
// the identity providers' public keys), the history store and the metrics registry. Immutable after
// start except the metrics' atomic counters; realm and connection actors share nothing else and
// talk only by messages.
#pragma once

#include <memory>

#include <actorsync/server/server_metrics.hpp>
#include <actorsync/server/server_options.hpp>
#include <actorsync/server/token.hpp>
#include "server/memory_budget.hpp"
#include "server/pending_upgrades.hpp"
#include "storage/history_store.hpp"

namespace actorsync::server {

class cluster_service;

struct server_context {
  server_options options;
  token_verifier tokens;
  std::shared_ptr<storage::history_store> store;
  std::shared_ptr<server_metrics> metrics;
  std::shared_ptr<cluster_service> cluster;  ///< null unless NATS URLs are configured
  /// What clients make the server hold; never null once the server started.
  std::shared_ptr<memory_budget> budget;
  /// Sockets not yet upgraded, shared by the ws and wss listeners; never null once started.
  std::shared_ptr<pending_upgrades> pending;
  /// Upgrades beyond this get 503: max_connections, lowered to what the descriptor limit holds.
  std::size_t connection_limit = 0;
};

using context_ptr = std::shared_ptr<const server_context>;

}  // namespace actorsync::server

// Internal. The server's TCP listeners: the sync listener (ws:// or wss://, HTTP upgrade with
// subprotocol and token checks, then one connection actor per WebSocket) and the metrics HTTP
// endpoint. Beast and Asio stay in the .cpp files; listeners run on the server's io_context.
#pragma once

#include <caf/fwd.hpp>
#include <cstdint>
#include <memory>

#include "server/server_context.hpp"
#include "server/server_messages.hpp"

namespace boost::asio {
class io_context;
}

namespace actorsync::server {

class listener {
 public:
  virtual ~listener() = default;
  /// The bound port (the ephemeral one when 0 was asked for).
  virtual std::uint16_t port() const = 0;
  /// Stops accepting; established connections are not affected. Blocks until done; never call
  /// it from an io thread.
  virtual void close() = 0;
};

/// Binds and starts accepting. Throws std::runtime_error naming the option on failure (address
/// in use, unreadable certificate, ...). `tls`: wss:// with the context's certificate and key.
std::shared_ptr<listener> start_sync_listener(boost::asio::io_context& io,
                                              const listener_options& where, bool tls,
                                              caf::actor_system& system,
                                              realm_directory_actor directory, context_ptr context);

/// Serves GET /metrics in the Prometheus text format.
std::shared_ptr<listener> start_metrics_listener(boost::asio::io_context& io,
                                                 const listener_options& where,
                                                 std::shared_ptr<server_metrics> metrics);

}  // namespace actorsync::server

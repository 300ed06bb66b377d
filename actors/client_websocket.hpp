// One WebSocket connection to the sync server (TCP or TLS), driven on the io_runtime's thread.
// Contract: every completion handler only decodes and sends a message (socket_opened, socket_frame,
// socket_written, socket_failed) to the connection manager through a weak address, so no handler
// keeps an actor alive or touches actor state. The manager keeps one write in flight.
// Internal header of actors/.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <caf/actor_addr.hpp>

#include "actors/io_runtime.hpp"
#include "actors/server_url.hpp"

namespace actorsync::runtime {

struct socket_target {
  server_url url;
  std::string token;  ///< sent as "Authorization: Bearer <token>" on the upgrade
  std::uint64_t link = 0;
  std::uint64_t generation = 0;
  caf::actor_addr manager;
};

class client_websocket {
 public:
  virtual ~client_websocket() = default;
  /// Resolve, connect, TLS handshake, WebSocket upgrade with subprotocol actorsync.v1, then read.
  virtual void start() = 0;
  /// Writes one binary frame; the manager calls it again only after socket_written.
  virtual void write(std::shared_ptr<const std::vector<std::uint8_t>> frame) = 0;
  /// Closes the socket and drops the caller's reference on the I/O thread, so the stream is
  /// never destroyed concurrently with I/O (Beast streams are not thread-safe). Pending
  /// operations end quietly (no socket_failed afterwards). Null links are ignored.
  static void retire(std::shared_ptr<client_websocket> link);

 protected:
  virtual void close_and_release(std::shared_ptr<client_websocket> self) = 0;
};

std::shared_ptr<client_websocket> make_client_websocket(io_runtime& io, socket_target target);

}  // namespace actorsync::runtime

// Internal. The socket side of one WebSocket connection as its connection actor sees it. The
// Beast implementation (ws_link in sync_listener.cpp) runs on Asio threads; every method only posts
// work to the socket's strand, so the actor may call them from its own thread. Results come back to
// the actor as link_* messages (server_messages.hpp), never as callbacks into actor state.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace actorsync::server {

using frame_ptr = std::shared_ptr<const std::vector<std::uint8_t>>;

class link {
 public:
  virtual ~link() = default;
  /// Reads one more frame (answered by link_frame, link_oversized or link_closed). The actor
  /// asks for frames one at a time: not asking is how it stops reading (backpressure).
  virtual void read_next() = 0;
  /// Writes one binary frame; the actor keeps at most one write in flight (answered by
  /// link_wrote or link_closed).
  virtual void write(frame_ptr frame) = 0;
  /// WebSocket close handshake with `code`; answered by link_closed.
  virtual void close(std::uint16_t code, std::string reason) = 0;
  /// Drops the TCP connection at once (a peer that never reads cannot block a close).
  virtual void abort() = 0;
  virtual const std::string& peer() const = 0;
};

}  // namespace actorsync::server

// Internal. The socket side of one WebSocket connection as its connection actor sees it: the seam
// that lets tests and fuzzers drive a connection actor without sockets. The Beast implementation
// (beast_server_websocket in sync_listener.cpp) runs on Asio threads; every method only posts
// work to the socket's strand, so the actor may call them from its own thread. Results come back
// to the actor as websocket_* messages (server_messages.hpp), never as callbacks into actor state.
// (The client's counterpart is actors/client_websocket.hpp.)
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace actorsync::server {

using frame_ptr = std::shared_ptr<const std::vector<std::uint8_t>>;

class server_websocket {
 public:
  virtual ~server_websocket() = default;
  /// Reads one more frame (answered by websocket_frame, websocket_oversized,
  /// websocket_text_frame or websocket_closed). The actor asks for frames a few at a time (its
  /// read window): not asking is how it stops reading (backpressure).
  virtual void read_next() = 0;
  /// Writes one binary frame; the actor keeps at most its write window of frames in flight
  /// (each answered by websocket_written, or websocket_closed).
  virtual void write(frame_ptr frame) = 0;
  /// WebSocket close handshake with `code`; answered by websocket_closed.
  virtual void close(std::uint16_t code, std::string reason) = 0;
  /// Drops the TCP connection at once (a peer that never reads cannot block a close).
  virtual void abort() = 0;
  virtual const std::string& peer() const = 0;
};

}  // namespace actorsync::server

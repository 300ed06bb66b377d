// A WebSocket client on a raw socket (no Beast): it upgrades, writes frames (whole, or only the
// first bytes of one) and reads only when told to. The misbehaving peers of the overload and
// memory tests: a reader that never reads, a sender that stops mid-frame, a BIND flood.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include <actorsync/protocol/messages.hpp>

namespace actorsync::testing {

class raw_websocket {
 public:
  /// Connects and upgrades with `token`; `receive_buffer` bytes of kernel buffer (0: default).
  /// Throws std::runtime_error when the upgrade is refused.
  raw_websocket(std::uint16_t port, const std::string& token, int receive_buffer = 0);
  ~raw_websocket();
  raw_websocket(const raw_websocket&) = delete;
  raw_websocket& operator=(const raw_websocket&) = delete;

  /// Writes one message as a masked binary frame; false once the server closed the connection.
  bool send(const protocol::client_message& message);
  /// Writes the header of a binary frame of `declared` payload bytes and the first `sent` of
  /// them (filler), then stops; false once the server closed the connection.
  bool send_frame_start(std::uint64_t declared, std::uint64_t sent);
  /// Reads (finally) until the server's close frame or the end of the connection, and returns
  /// the last ERROR before it; empty when there was none.
  std::optional<protocol::error_message> read_until_close();

 private:
  bool write_all(const std::string& data);
  bool read_exactly(std::string& out, std::uint64_t count);
  int fd_ = -1;
};

}  // namespace actorsync::testing

#include "tests/support/raw_websocket.hpp"

#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <stdexcept>

#include "protocol/codec.hpp"
#include "tests/support/scripted_client.hpp"

namespace actorsync::testing {

namespace {

constexpr std::uint8_t mask[4] = {0x5a, 0x17, 0xc3, 0x01};

// A masked binary frame header (FIN set) for `length` payload bytes.
std::string frame_header(std::uint64_t length) {
  std::string header{'\x82'};
  if (length < 126) {
    header += static_cast<char>(0x80 | length);
  } else if (length <= 0xffff) {
    header += static_cast<char>(0x80 | 126);
    for (int shift = 8; shift >= 0; shift -= 8) header += static_cast<char>(length >> shift);
  } else {
    header += static_cast<char>(0x80 | 127);
    for (int shift = 56; shift >= 0; shift -= 8) header += static_cast<char>(length >> shift);
  }
  header.append(reinterpret_cast<const char*>(mask), 4);
  return header;
}

}  // namespace

raw_websocket::raw_websocket(std::uint16_t port, const std::string& token, int receive_buffer) {
  fd_ = connect_raw(port, receive_buffer);
  write_all(
      "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
      "Sec-WebSocket-Key: cmF3LXdlYnNvY2tldC10ZXN0\r\nSec-WebSocket-Version: 13\r\n"
      "Sec-WebSocket-Protocol: actorsync.v1\r\nAuthorization: Bearer " +
      token + "\r\n\r\n");
  std::string response;
  char c = 0;
  while (!response.ends_with("\r\n\r\n") && ::recv(fd_, &c, 1, 0) == 1) response += c;
  if (response.rfind("HTTP/1.1 101", 0) != 0) {
    ::close(fd_);
    throw std::runtime_error("upgrade: " + response);
  }
}

raw_websocket::~raw_websocket() {
  ::close(fd_);
}

bool raw_websocket::send(const protocol::client_message& message) {
  protocol::byte_buffer payload;
  protocol::encode(message, payload);
  auto frame = frame_header(payload.size());
  for (std::size_t i = 0; i < payload.size(); ++i)
    frame += static_cast<char>(payload[i] ^ mask[i % 4]);
  return write_all(frame);
}

bool raw_websocket::send_frame_start(std::uint64_t declared, std::uint64_t sent) {
  if (!write_all(frame_header(declared))) return false;
  const std::string filler(64 * 1024, '\x7f');
  for (std::uint64_t done = 0; done < sent;) {
    const auto n = std::min<std::uint64_t>(filler.size(), sent - done);
    if (!write_all(filler.substr(0, n))) return false;
    done += n;
  }
  return true;
}

std::optional<protocol::error_message> raw_websocket::read_until_close() {
  std::optional<protocol::error_message> last_error;
  for (;;) {
    std::string header;
    if (!read_exactly(header, 2)) return last_error;
    const auto opcode = static_cast<std::uint8_t>(header[0]) & 0x0f;
    std::uint64_t length = static_cast<std::uint8_t>(header[1]) & 0x7f;
    const int extended = length == 126 ? 2 : length == 127 ? 8 : 0;
    if (extended > 0) {
      std::string bytes;
      if (!read_exactly(bytes, extended)) return last_error;
      length = 0;
      for (char b : bytes) length = (length << 8) | static_cast<std::uint8_t>(b);
    }
    std::string payload;
    if (!read_exactly(payload, length)) return last_error;
    if (opcode == 0x8) return last_error;
    if (opcode != 0x2) continue;
    auto decoded = protocol::decode_server_message(
        {reinterpret_cast<const std::uint8_t*>(payload.data()), payload.size()});
    if (!decoded) continue;
    if (auto* e = std::get_if<protocol::error_message>(&decoded.message())) last_error = *e;
  }
}

bool raw_websocket::write_all(const std::string& data) {
  std::size_t done = 0;
  while (done < data.size()) {
    const auto n = ::send(fd_, data.data() + done, data.size() - done, MSG_NOSIGNAL);
    if (n <= 0) return false;
    done += static_cast<std::size_t>(n);
  }
  return true;
}

bool raw_websocket::read_exactly(std::string& out, std::uint64_t count) {
  char buffer[65536];
  while (out.size() < count) {
    const auto n =
        ::recv(fd_, buffer, std::min<std::uint64_t>(sizeof buffer, count - out.size()), 0);
    if (n <= 0) return false;
    out.append(buffer, static_cast<std::size_t>(n));
  }
  return true;
}

}  // namespace actorsync::testing

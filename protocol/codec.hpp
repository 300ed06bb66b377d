// Sans-I/O codec for actorsync.v1 frames: typed messages in, bytes out, and back.
// decode_* never throw, never crash on any input, and never allocate from a declared length
// that the frame itself cannot back: decoded memory stays within a small multiple (< 32x) of
// the frame size.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include <actorsync/protocol/errors.hpp>
#include <actorsync/protocol/messages.hpp>

namespace actorsync::protocol {

/// The WebSocket subprotocol naming this protocol version.
inline constexpr std::string_view subprotocol = "actorsync.v1";

/// Why a frame was refused: a protocol error code and a sentence for humans. Most refusals are
/// connection level (bad_syntax, limits_exceeded, unknown_message); a well-formed BIND with an
/// illegal realm path is session level (illegal_realm_path) and names the session to answer.
struct codec_error {
  error_code code = error_code::bad_syntax;
  std::string reason;
  session_ident session = 0;  ///< non-zero only for session-level refusals
};

/// Either a decoded message or the reason it could not be decoded.
template <class T>
class decode_result {
 public:
  decode_result(T message) : value_(std::move(message)) {}
  decode_result(codec_error error) : value_(std::move(error)) {}

  bool ok() const { return value_.index() == 0; }
  explicit operator bool() const { return ok(); }
  T& message() { return std::get<0>(value_); }
  const T& message() const { return std::get<0>(value_); }
  const codec_error& error() const { return std::get<1>(value_); }

 private:
  std::variant<T, codec_error> value_;
};

using byte_buffer = std::vector<std::uint8_t>;

/// Appends one frame to `out`. Messages are expected to respect limits.hpp; validate() says.
void encode(const client_message& message, byte_buffer& out);
void encode(const server_message& message, byte_buffer& out);

/// Decodes one whole frame sent by a client (what a server reads).
decode_result<client_message> decode_client_message(std::span<const std::uint8_t> frame);
/// Decodes one whole frame sent by a server (what a client reads).
decode_result<server_message> decode_server_message(std::span<const std::uint8_t> frame);

/// Field validation shared by encoder users and the decoder. Returns an empty reason when valid.
std::string validate(const changeset& changeset);
std::string validate(const instruction& instruction);
std::string validate_realm_path(std::string_view path);

/// Bytes a changeset occupies in a frame: the unit of progress and downloadable_bytes.
std::size_t encoded_size(const changeset& changeset);

/// Encodes a single changeset on its own (as stored in histories).
void encode_changeset(const changeset& changeset, byte_buffer& out);
decode_result<changeset> decode_changeset(std::span<const std::uint8_t> bytes);

}  // namespace actorsync::protocol

// Sample messages and helpers shared by the protocol tests: the golden vectors are made from
// these samples, and the rejection tests mutate and truncate their encodings.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "protocol/codec.hpp"

namespace actorsync::protocol::samples {

template <class Message>
struct named {
  std::string name;  ///< also the golden file's stem: golden/<name>.hex
  Message message;
};

/// A changeset using every instruction and every value type.
changeset sample_changeset();

/// One or more samples of every client and every server message type.
std::vector<named<client_message>> sample_client_messages();
std::vector<named<server_message>> sample_server_messages();

byte_buffer encoded(const client_message& message);
byte_buffer encoded(const server_message& message);
byte_buffer encoded(const changeset& changeset);

/// Hex text with '#' comment lines and any whitespace, as kept in golden/*.hex.
byte_buffer from_hex(std::string_view text);
/// Lower-case hex, 16 bytes per line.
std::string to_hex(const byte_buffer& bytes);

/// tests/protocol/golden in the source tree.
std::string golden_dir();

}  // namespace actorsync::protocol::samples

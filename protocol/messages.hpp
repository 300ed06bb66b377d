// Typed wire messages of protocol actorsync.v1. Plain data: no I/O, no actors.
// docs/protocol.md is the normative description; field order here is wire order.
#pragma once

#include <cstdint>
#include <string>
#include <variant>
#include <vector>

namespace actorsync::protocol {

/// Chosen by the client, unique among the live sessions of one connection. Never 0.
using session_ident = std::uint64_t;
/// Allocated by the server per realm; 0 means "not allocated yet".
using file_ident = std::uint64_t;
/// Client versions number local changesets from 1; server versions number integrated ones from 1.
using version_type = std::uint64_t;
/// Milliseconds since the Unix epoch at the origin when the changeset was committed.
using timestamp_type = std::uint64_t;
using request_ident = std::uint64_t;

using binary = std::vector<std::uint8_t>;

/// A field value: msgpack nil, boolean, integer in int64 range, float64, str or bin.
using value = std::variant<std::monostate, bool, std::int64_t, double, std::string, binary>;

// ---- instructions --------------------------------------------------------------------------

struct create_object {
  std::string collection;
  std::string object_id;
  friend bool operator==(const create_object&, const create_object&) = default;
};

struct erase_object {
  std::string collection;
  std::string object_id;
  friend bool operator==(const erase_object&, const erase_object&) = default;
};

struct set_field {
  std::string collection;
  std::string object_id;
  std::string field;
  value new_value;
  friend bool operator==(const set_field&, const set_field&) = default;
};

struct add_integer {
  std::string collection;
  std::string object_id;
  std::string field;
  std::int64_t delta = 0;
  friend bool operator==(const add_integer&, const add_integer&) = default;
};

using instruction = std::variant<create_object, erase_object, set_field, add_integer>;

/// One committed transaction of one origin.
struct changeset {
  version_type client_version = 0;                  ///< origin's version, >= 1
  version_type last_integrated_server_version = 0;  ///< what the origin had integrated
  version_type server_version = 0;                  ///< 0 in UPLOAD; set by the server in DOWNLOAD
  file_ident origin_file_ident = 0;                 ///< 0 in UPLOAD (the server knows the sender)
  timestamp_type origin_timestamp = 0;
  std::vector<instruction> instructions;
  friend bool operator==(const changeset&, const changeset&) = default;
};

// ---- client to server ----------------------------------------------------------------------

struct bind_message {
  session_ident session = 0;
  std::string realm_path;  ///< "/"-separated, starts with "/"
  std::string token;       ///< may be empty when the upgrade's token covers the realm
  friend bool operator==(const bind_message&, const bind_message&) = default;
};

/// The client's identity in the realm, or a request for one (client_file_ident == 0), plus
/// the download cursor it resumes from.
struct client_ident_message {
  session_ident session = 0;
  file_ident client_file_ident = 0;
  std::uint64_t file_ident_salt = 0;
  version_type server_version = 0;                  ///< last integrated server version
  version_type last_integrated_client_version = 0;  ///< as reported by the last DOWNLOAD
  friend bool operator==(const client_ident_message&, const client_ident_message&) = default;
};

struct upload_message {
  session_ident session = 0;
  version_type client_version = 0;  ///< upload cursor: newest client version sent so far
  version_type last_integrated_server_version = 0;
  std::vector<changeset> changesets;
  friend bool operator==(const upload_message&, const upload_message&) = default;
};

struct client_mark_message {
  session_ident session = 0;
  request_ident request = 0;
  friend bool operator==(const client_mark_message&, const client_mark_message&) = default;
};

struct unbind_message {
  session_ident session = 0;
  friend bool operator==(const unbind_message&, const unbind_message&) = default;
};

struct ping_message {
  timestamp_type timestamp = 0;  ///< echoed in PONG
  friend bool operator==(const ping_message&, const ping_message&) = default;
};

// ---- server to client ----------------------------------------------------------------------

struct server_ident_message {
  session_ident session = 0;
  file_ident client_file_ident = 0;
  std::uint64_t file_ident_salt = 0;
  friend bool operator==(const server_ident_message&, const server_ident_message&) = default;
};

struct download_message {
  session_ident session = 0;
  version_type server_version = 0;                  ///< download cursor after these changesets
  version_type last_integrated_client_version = 0;  ///< upload acknowledgement
  std::uint64_t downloadable_bytes = 0;  ///< history bytes still to send after this message
  std::vector<changeset> changesets;
  friend bool operator==(const download_message&, const download_message&) = default;
};

struct server_mark_message {
  session_ident session = 0;
  request_ident request = 0;
  friend bool operator==(const server_mark_message&, const server_mark_message&) = default;
};

struct unbound_message {
  session_ident session = 0;
  friend bool operator==(const unbound_message&, const unbound_message&) = default;
};

struct error_message {
  std::uint16_t code = 0;  ///< a value of protocol::error_code
  std::string message;
  bool try_again = false;     ///< false: fatal, do not retry
  session_ident session = 0;  ///< 0: connection-level error
  friend bool operator==(const error_message&, const error_message&) = default;
};

struct pong_message {
  timestamp_type timestamp = 0;
  friend bool operator==(const pong_message&, const pong_message&) = default;
};

using client_message = std::variant<bind_message, client_ident_message, upload_message,
                                    client_mark_message, unbind_message, ping_message>;
using server_message = std::variant<server_ident_message, download_message, server_mark_message,
                                    unbound_message, error_message, pong_message>;

/// The session ident a message is for; 0 for connection-level messages (PING, PONG, an ERROR
/// without a session).
template <class Variant>
session_ident session_of(const Variant& message) {
  return std::visit(
      [](const auto& m) -> session_ident {
        if constexpr (requires { m.session; }) {
          return m.session;
        } else {
          return 0;
        }
      },
      message);
}

/// The first element of every frame.
enum class message_type : std::uint8_t {
  bind = 1,
  client_ident = 2,
  upload = 3,
  client_mark = 4,
  unbind = 5,
  ping = 6,
  server_ident = 17,
  download = 18,
  server_mark = 19,
  unbound = 20,
  error = 21,
  pong = 22,
};

/// Instruction tags, the first element of each instruction array.
enum class instruction_type : std::uint8_t {
  create_object = 1,
  erase_object = 2,
  set_field = 3,
  add_integer = 4,
};

}  // namespace actorsync::protocol

// Protocol error codes, carried in ERROR messages. 1xx: connection level (the connection
// closes); 2xx: session level (only that session ends, the connection goes on).
#pragma once

#include <cstdint>
#include <string_view>

namespace actorsync::protocol {

enum class error_code : std::uint16_t {
  // ---- connection level ----
  connection_closed = 100,       ///< normal close; try again later
  other_error = 101,             ///< unclassified connection error; try again
  unknown_message = 102,         ///< the message type is not one of this protocol's; fatal
  bad_syntax = 103,              ///< the frame is not a valid message; fatal
  limits_exceeded = 104,         ///< a frame or field is larger than allowed; fatal
  wrong_protocol_version = 105,  ///< the subprotocol is not actorsync.v1; fatal
  bad_session_ident = 106,       ///< a message names a session ident never bound; fatal
  reuse_of_session_ident = 107,  ///< BIND with an ident that is live on this connection; fatal
  bad_message_order = 108,       ///< a message arrives in a state that forbids it; fatal
  pong_timeout = 109,            ///< no traffic for the keepalive period; try again
  going_away = 110,              ///< the server shuts down; try again
  send_queue_overflow = 111,     ///< the peer reads too slowly; try again
  connect_timeout = 112,         ///< client side: the connection did not open in time; try again
  connection_lost = 113,         ///< client side: the socket closed unexpectedly; try again
  too_many_connections = 114,    ///< the server refuses more connections; try again
  server_overloaded = 115,       ///< shed to keep the server within its memory budget; try again
  frame_timeout = 116,           ///< a frame was started and not finished in time; try again

  // ---- session level ----
  session_closed = 200,         ///< normal end of a session; try again
  other_session_error = 201,    ///< unclassified session error; try again
  token_expired = 202,          ///< refresh the token and bind again; try again
  bad_authentication = 203,     ///< the token is missing, malformed or wrongly signed; fatal
  illegal_realm_path = 204,     ///< the realm path does not follow the path rules; fatal
  permission_denied = 205,      ///< the token does not cover this realm; fatal
  bad_client_file_ident = 206,  ///< IDENT names a file ident this realm never allocated; fatal
  bad_progress = 207,           ///< a cursor goes backwards or beyond what exists; fatal
  bad_changeset = 208,          ///< a changeset does not validate; fatal
  too_many_sessions = 209,      ///< the connection already carries the maximum; try again
  bad_client_version = 210,     ///< UPLOAD versions not increasing or above its cursor; fatal
  server_busy = 211,            ///< the realm cannot take work now; try again
  session_message_order = 212,  ///< UPLOAD/MARK before the client's IDENT, 2nd IDENT; fatal
  storage_full = 213,           ///< the server's disk is full, nothing written; try again
  storage_corruption = 214,     ///< the server's copy of the realm is damaged; fatal
  /// IDENT's download cursor or integrated client version is beyond this realm's history: the
  /// server's data is older than what the client saw (a restore, a lagging standby). Fatal for
  /// the history: the client resets (docs/sessions.md, "Client reset").
  bad_server_version = 215,
};

/// True for codes below 200: the whole connection is affected.
constexpr bool is_connection_level(error_code code) {
  return static_cast<std::uint16_t>(code) < 200;
}

/// Whether a client may retry after this error (the `try_again` flag of ERROR).
constexpr bool is_retryable(error_code code) {
  switch (code) {
    case error_code::connection_closed:
    case error_code::other_error:
    case error_code::pong_timeout:
    case error_code::going_away:
    case error_code::send_queue_overflow:
    case error_code::connect_timeout:
    case error_code::connection_lost:
    case error_code::too_many_connections:
    case error_code::server_overloaded:
    case error_code::frame_timeout:
    case error_code::session_closed:
    case error_code::other_session_error:
    case error_code::token_expired:
    case error_code::too_many_sessions:
    case error_code::server_busy:
    case error_code::storage_full:
      return true;
    default:
      return false;
  }
}

/// True when `raw` is one of the codes above.
bool is_known_error_code(std::uint16_t raw);

/// A stable lower-case name, e.g. "bad_syntax", for logs and metrics labels.
std::string_view to_string(error_code code);

}  // namespace actorsync::protocol

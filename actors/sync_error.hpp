// The client runtime's error enum: what a session, a wait or an observer can be told. Every
// value is classified fatal (retrying cannot help; waits always complete with it) or retryable
// (the runtime reconnects; waits survive unless cancel_waits_on_nonfatal_error is set).
// Converted from protocol and storage errors in exactly one place each (sync_error.cpp).
#pragma once

#include <cstdint>
#include <string_view>

#include "protocol/errors.hpp"
#include "storage/errors.hpp"

namespace actorsync::runtime {

enum class sync_errc : std::uint8_t {
  // ---- retryable ----
  connection_lost = 1,  ///< the socket closed or failed while connected; reconnects with backoff
  connect_timeout,      ///< resolve + TCP + TLS + WebSocket upgrade took longer than allowed
  connect_failed,       ///< the server refused or could not be reached; reconnects with backoff
  pong_timeout,         ///< nothing arrived for the keepalive period; the link is dropped
  server_going_away,    ///< the server closes the connection on shutdown
  server_busy,          ///< the server or realm refuses work now (limits, overload)
  token_expired,        ///< the token expired; a fresh one is fetched from the provider
  session_closed,       ///< the server ended the session normally or for an unclassified reason
  // ---- fatal ----
  protocol_violation,      ///< a peer sent something the protocol forbids (bad frame, bad order)
  wrong_protocol_version,  ///< the server does not speak actorsync.v1
  bad_authentication,      ///< the token is missing, malformed or wrongly signed
  permission_denied,       ///< the token does not cover this realm
  illegal_realm_path,      ///< the realm path breaks the path rules
  client_reset_required,   ///< the server does not know this client's history (ident, versions)
  bad_changeset,           ///< a changeset failed validation on one side
  tls_failure,             ///< certificate verification or the TLS handshake failed
  storage_failure,         ///< the local store failed (I/O error, corruption)
  session_stopped,         ///< the realm was closed with "stop now" or the runtime shut down
};

/// True when retrying cannot help: waits always complete with such an error.
bool is_fatal(sync_errc code);

/// A stable lower-case name for logs and messages, e.g. "pong_timeout".
std::string_view to_string(sync_errc code);

/// The one conversion from wire error codes (ERROR messages and local link failures).
sync_errc from_protocol(protocol::error_code code);

/// A refused WebSocket upgrade: by its `X-Actorsync-Reason` header (protocol.md §1), else (a
/// proxy, an older server) by its HTTP status. A reason this client does not know is fatal.
sync_errc from_upgrade_refusal(unsigned status, std::string_view reason);

/// The one conversion from storage errors (all are fatal for the session).
sync_errc from_storage(storage::storage_errc code);

}  // namespace actorsync::runtime

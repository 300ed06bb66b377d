#include "actors/sync_error.hpp"

namespace actorsync::runtime {

sync_errc from_protocol(protocol::error_code code) {
  using protocol::error_code;
  switch (code) {
    case error_code::connection_closed:
    case error_code::other_error:
    case error_code::connection_lost:
    case error_code::frame_timeout:  // the link was too slow to finish a frame
      return sync_errc::connection_lost;
    case error_code::connect_timeout:
      return sync_errc::connect_timeout;
    case error_code::pong_timeout:
      return sync_errc::pong_timeout;
    case error_code::going_away:
      return sync_errc::server_going_away;
    case error_code::send_queue_overflow:
    case error_code::too_many_connections:
    case error_code::server_overloaded:
    case error_code::too_many_sessions:
    case error_code::server_busy:
    case error_code::storage_full:  // the server's disk: it resumes by itself
      return sync_errc::server_busy;
    case error_code::token_expired:
      return sync_errc::token_expired;
    case error_code::session_closed:
    case error_code::other_session_error:
      return sync_errc::session_closed;
    case error_code::unknown_message:
    case error_code::bad_syntax:
    case error_code::limits_exceeded:
    case error_code::bad_session_ident:
    case error_code::reuse_of_session_ident:
    case error_code::bad_message_order:
    case error_code::session_message_order:
      return sync_errc::protocol_violation;
    case error_code::wrong_protocol_version:
      return sync_errc::wrong_protocol_version;
    case error_code::bad_authentication:
      return sync_errc::bad_authentication;
    case error_code::illegal_realm_path:
      return sync_errc::illegal_realm_path;
    case error_code::permission_denied:
      return sync_errc::permission_denied;
    case error_code::bad_client_file_ident:
    case error_code::bad_server_version:
    case error_code::bad_progress:
    case error_code::bad_client_version:
      return sync_errc::client_reset_required;
    case error_code::bad_changeset:
      return sync_errc::bad_changeset;
    case error_code::storage_corruption:  // the server's store, for this realm
      return sync_errc::storage_failure;
  }
  return sync_errc::protocol_violation;  // an unknown code is itself a violation
}

sync_errc from_upgrade_refusal(unsigned status, std::string_view reason) {
  using protocol::error_code;
  if (reason == "not_websocket_upgrade") return sync_errc::wrong_protocol_version;
  if (reason == "headers_too_large") return from_protocol(error_code::limits_exceeded);
  for (auto code : {error_code::token_expired, error_code::bad_authentication,
                    error_code::wrong_protocol_version, error_code::too_many_connections,
                    error_code::permission_denied, error_code::limits_exceeded})
    if (reason == protocol::to_string(code)) return from_protocol(code);
  if (!reason.empty()) return sync_errc::protocol_violation;
  switch (status) {
    case 401:
      return sync_errc::bad_authentication;
    case 403:
      return sync_errc::permission_denied;
    case 426:
      return sync_errc::wrong_protocol_version;
    case 503:
      return sync_errc::server_busy;
    default:
      return sync_errc::connect_failed;
  }
}

sync_errc from_storage(storage::storage_errc code) {
  switch (code) {
    case storage::storage_errc::bad_changeset:
      return sync_errc::bad_changeset;
    case storage::storage_errc::bad_progress:
    case storage::storage_errc::bad_client_version:
    case storage::storage_errc::bad_client_file_ident:
      return sync_errc::client_reset_required;
    case storage::storage_errc::closed:
      return sync_errc::session_stopped;
    case storage::storage_errc::io_error:
    case storage::storage_errc::corruption:
    case storage::storage_errc::invalid_argument:
    // Server (cluster) store codes: a client's realm store never reports them.
    case storage::storage_errc::realm_lost:
    case storage::storage_errc::realm_owned_elsewhere:
    case storage::storage_errc::unavailable:
    case storage::storage_errc::storage_full:
      return sync_errc::storage_failure;
  }
  return sync_errc::storage_failure;
}

}  // namespace actorsync::runtime

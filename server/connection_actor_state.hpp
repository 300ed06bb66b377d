// State of a connection actor (behaviour in connection_actor.cpp, diagram in
// connection_actor.hpp). Runs on the actor only; its WebSocket reaches it through messages.
#pragma once

#include <caf/result.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/system_messages.hpp>
#include <caf/typed_response_promise.hpp>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include <actorsync/protocol/errors.hpp>
#include <actorsync/protocol/messages.hpp>
#include <actorsync/server/token.hpp>
#include "server/server_context.hpp"
#include "server/server_messages.hpp"
#include "server/server_websocket.hpp"

namespace actorsync::server {

/// WebSocket close codes (RFC 6455).
namespace websocket_close {
inline constexpr std::uint16_t going_away = 1001;
inline constexpr std::uint16_t protocol_error = 1002;
inline constexpr std::uint16_t unsupported_data = 1003;
inline constexpr std::uint16_t policy_violation = 1008;
inline constexpr std::uint16_t too_big = 1009;
}  // namespace websocket_close

/// One session of the connection, as the connection sees it.
struct connection_session {
  protocol::session_ident ident = 0;
  bind_id_type bind_id = 0;
  realm_actor realm;  ///< set once the realm answered the BIND
  bool ident_sent = false;
  std::vector<protocol::client_message> pending;     ///< arrived before the realm answered
  protocol::version_type upload_client_version = 0;  ///< upload cursor as last reported
  protocol::version_type upload_server_version = 0;
};

struct queued_frame {
  frame_ptr frame;
  bind_id_type credit_for = 0;  ///< answer download_written to this session's realm
  std::size_t changesets = 0;
};

struct connection_actor_state {
  using self_pointer = caf::stateful_actor<connection_actor_state, connection_actor_impl::base>*;
  using refusal = std::pair<protocol::error_code, std::string>;

  self_pointer self = nullptr;
  context_ptr context;
  realm_directory_actor directory;
  std::shared_ptr<server_websocket> socket;
  /// This connection's share of the server's memory budget: queued frames, frames received and
  /// not yet decoded (charged by the socket), session bookkeeping.
  std::shared_ptr<memory_budget::account> account;
  token_claims upgrade_claims;
  std::string tag;  ///< "conn[12]" for logs

  std::unordered_map<protocol::session_ident, connection_session> sessions;
  std::unordered_map<protocol::session_ident, bool> retired;  ///< true: ended by a session ERROR
  std::unordered_map<bind_id_type, protocol::session_ident> by_bind;
  bind_id_type next_bind_id = 1;

  std::deque<queued_frame> outbox;
  std::deque<queued_frame> in_flight;  ///< handed to the socket, oldest first (write_window)
  std::size_t queued_bytes = 0;        ///< outbox plus the frames being written
  bool over_limit = false;
  std::uint64_t overflow_generation = 0;

  std::size_t reads_outstanding = 0;  ///< frames asked of the WebSocket, not yet arrived
  bool reading_stopped = false;       ///< server shutdown: no new work
  bool closing = false;
  bool close_requested = false;
  /// Shed or timed out mid-frame: once the ERROR is written the socket is dropped, not closed
  /// with a handshake (a peer mid-frame cannot answer one; its buffer must go now).
  bool abort_when_flushed = false;
  std::uint16_t close_code = websocket_close::protocol_error;
  std::vector<caf::typed_response_promise<shutdown_done>> goodbye_waiters;

  static inline const char* name = "actorsync.connection";

  void start(std::uint64_t id);

  // ---- from the WebSocket
  void received(const websocket_frame& frame);
  void oversized(const websocket_oversized& event);
  void text_frame();
  void written();
  void closed(const websocket_closed& event);
  void frame_timed_out(const websocket_frame_timeout& event);
  void shed();

  // ---- from realms
  void bound(const session_bound& m);
  void deliver(const session_frame& m);
  void failed_by_realm(const session_failed& m);

  // ---- timers, shutdown and exit
  void overflow_timer(const overflow_check& m);
  void abort_socket();
  shutdown_done stop_reading_frames();
  caf::result<shutdown_done> say_goodbye();
  void exited(caf::exit_msg& exit);

  // ---- client messages
  void dispatch(protocol::client_message&& message);
  void bind(protocol::bind_message&& m);
  std::optional<refusal> check_bind_token(const protocol::bind_message& m, std::string& user_id);
  void refuse_bind(protocol::session_ident session, protocol::error_code code, std::string why);
  template <class Message>
  connection_session* live_session(const Message& m);
  void session_message(connection_session& s, protocol::client_message&& msg);

  // ---- sessions and errors
  void forget_session(protocol::session_ident ident, bool tell_realm);
  void session_error(protocol::session_ident ident, protocol::error_code code, std::string why,
                     bool tell_realm = true);
  void end_all_sessions();
  void connection_error(protocol::error_code code, std::string why,
                        std::uint16_t close = websocket_close::protocol_error);

  // ---- sending and reading
  void flush();
  void maybe_read();
  void overflow();
  void add_queued(std::size_t bytes);
  void remove_queued(std::size_t bytes);
  void enqueue(frame_ptr frame, bind_id_type credit_for = 0, std::size_t changesets = 0);
  void send_message(const protocol::server_message& message);
  void send_error(protocol::error_code code, std::string why, protocol::session_ident session);
  void quit_releasing_socket(caf::error reason = caf::none);
};

}  // namespace actorsync::server

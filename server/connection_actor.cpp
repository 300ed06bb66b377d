#include "server/connection_actor.hpp"

#include <spdlog/spdlog.h>

#include <caf/all.hpp>
#include <deque>
#include <optional>
#include <unordered_map>

#include "protocol/codec.hpp"
#include "server/server_messages.hpp"

namespace actorsync::server {

namespace {

using protocol::error_code;
using protocol::session_ident;
using protocol::version_type;

// WebSocket close codes (RFC 6455).
constexpr std::uint16_t close_going_away = 1001;
constexpr std::uint16_t close_protocol_error = 1002;
constexpr std::uint16_t close_unsupported_data = 1003;
constexpr std::uint16_t close_policy_violation = 1008;
constexpr std::uint16_t close_too_big = 1009;

using tuning::close_grace;
using tuning::read_window;
using tuning::write_window;

struct conn_session {
  session_ident ident = 0;
  bind_id_type bind_id = 0;
  caf::actor realm;  ///< set once the realm answered the BIND
  bool ident_sent = false;
  std::vector<protocol::client_message> pending;  ///< arrived before the realm answered
  version_type upload_client_version = 0;         ///< upload cursor as last reported
  version_type upload_server_version = 0;
};

struct queued_frame {
  frame_ptr frame;
  bind_id_type credit_for = 0;  ///< answer download_written to this session's realm
  std::size_t changesets = 0;
};

struct connection_state {
  context_ptr context;
  caf::actor directory;
  std::shared_ptr<link> socket;
  token_claims upgrade_claims;
  std::string tag;  ///< "conn[12]" for logs

  std::unordered_map<session_ident, conn_session> sessions;
  std::unordered_map<session_ident, bool> retired;  ///< true: ended by a session ERROR
  std::unordered_map<bind_id_type, session_ident> by_bind;
  bind_id_type next_bind_id = 1;

  std::deque<queued_frame> outbox;
  std::deque<queued_frame> in_flight;  ///< handed to the socket, oldest first (write_window)
  std::size_t queued_bytes = 0;        ///< outbox plus the frames being written
  bool over_limit = false;
  std::uint64_t overflow_generation = 0;

  std::size_t reads_outstanding = 0;  ///< frames asked of the link, not yet arrived
  bool reading_stopped = false;       ///< server shutdown: no new work
  bool closing = false;
  bool close_requested = false;
  std::uint16_t close_code = close_protocol_error;
  std::vector<caf::response_promise> goodbye_waiters;
};

using connection_actor = caf::stateful_actor<connection_state>;

void dispatch(connection_actor* self, protocol::client_message&& message);

// ---- sending ---------------------------------------------------------------------------------

void flush(connection_actor* self) {
  auto& st = self->state;
  while (st.in_flight.size() < write_window && !st.outbox.empty()) {
    auto& next = st.in_flight.emplace_back(std::move(st.outbox.front()));
    st.outbox.pop_front();
    // Counted when handed to the socket: a peer may read the frame before the write completes.
    auto& metrics = *st.context->metrics;
    metrics.bytes_sent.fetch_add(next.frame->size(), std::memory_order_relaxed);
    metrics.changesets_sent.fetch_add(next.changesets, std::memory_order_relaxed);
    st.socket->write(next.frame);
  }
  if (!st.in_flight.empty()) return;
  if (st.closing && !st.close_requested) {
    st.close_requested = true;
    st.socket->close(st.close_code, "");
  }
}

void maybe_read(connection_actor* self) {
  auto& st = self->state;
  if (st.closing || st.reading_stopped) return;
  while (st.reads_outstanding < read_window) {
    if (st.queued_bytes > st.context->options.send_queue_bytes) return;  // backpressure
    ++st.reads_outstanding;
    st.socket->read_next();
  }
}

void connection_error(connection_actor* self, error_code code, std::string why,
                      std::uint16_t close_code = close_protocol_error);

void overflow(connection_actor* self) {
  auto& st = self->state;
  for (const auto& f : st.outbox) st.queued_bytes -= f.frame->size();
  st.outbox.clear();
  connection_error(self, error_code::send_queue_overflow,
                   "the client did not read its downloads in time", close_policy_violation);
}

void enqueue(connection_actor* self, frame_ptr frame, bind_id_type credit_for = 0,
             std::size_t changesets = 0) {
  auto& st = self->state;
  const auto limit = st.context->options.send_queue_bytes;
  st.queued_bytes += frame->size();
  st.outbox.push_back({std::move(frame), credit_for, changesets});
  if (!st.closing && st.queued_bytes > tuning::send_queue_overflow_factor * limit) {
    overflow(self);
    return;
  }
  if (!st.over_limit && st.queued_bytes > limit) {
    st.over_limit = true;
    self->delayed_send(self, st.context->options.send_queue_timeout,
                       overflow_check{++st.overflow_generation});
  }
  flush(self);
}

void send_message(connection_actor* self, const protocol::server_message& message) {
  enqueue(self, encode_frame(message));
}

void send_error(connection_actor* self, error_code code, std::string why, session_ident session) {
  self->state.context->metrics->record_error(code);
  if (why.size() > protocol::limits::max_error_message_bytes) {
    why.resize(protocol::limits::max_error_message_bytes);
  }
  send_message(self, protocol::error_message{static_cast<std::uint16_t>(code), std::move(why),
                                             protocol::is_retryable(code), session});
}

// ---- sessions --------------------------------------------------------------------------------

void forget_session(connection_actor* self, session_ident ident, bool tell_realm) {
  auto& st = self->state;
  auto it = st.sessions.find(ident);
  if (it == st.sessions.end()) return;
  if (it->second.realm) {
    if (tell_realm) self->send(it->second.realm, session_unbind{it->second.bind_id});
    st.context->metrics->sessions.fetch_sub(1, std::memory_order_relaxed);
  } else if (tell_realm) {
    // Still binding: the realm's session_bound will find no session and unbind itself.
  }
  st.by_bind.erase(it->second.bind_id);
  st.sessions.erase(it);
}

void session_error(connection_actor* self, session_ident ident, error_code code, std::string why,
                   bool tell_realm = true) {
  // Codes below 200 are connection-level by the protocol (bad_message_order, ...): an ERROR
  // naming a session with such a code is undecodable for clients, so end the connection.
  if (protocol::is_connection_level(code)) return connection_error(self, code, std::move(why));
  spdlog::info("{} session {} error {}: {}", self->state.tag, ident, protocol::to_string(code),
               why);
  forget_session(self, ident, tell_realm);
  self->state.retired[ident] = true;
  send_error(self, code, std::move(why), ident);
}

void end_all_sessions(connection_actor* self) {
  std::vector<session_ident> idents;
  for (const auto& entry : self->state.sessions) idents.push_back(entry.first);
  for (auto ident : idents) forget_session(self, ident, true);
}

void connection_error(connection_actor* self, error_code code, std::string why,
                      std::uint16_t close_code) {
  auto& st = self->state;
  if (st.closing) return;
  spdlog::info("{} connection error {}: {}", st.tag, protocol::to_string(code), why);
  st.closing = true;
  st.close_code = close_code;
  end_all_sessions(self);
  send_error(self, code, std::move(why), 0);
  self->delayed_send(self, close_grace, close_deadline{});
}

// ---- client messages ---------------------------------------------------------------------------

// The token a BIND uses must be valid and cover the realm; returns the failure, if any.
std::optional<std::pair<error_code, std::string>> check_bind_token(connection_actor* self,
                                                                   const protocol::bind_message& m,
                                                                   std::string& user_id) {
  auto& st = self->state;
  token_claims claims = st.upgrade_claims;
  if (!m.token.empty()) {
    auto verified = verify_token(st.context->secret, m.token, unix_now());
    if (!verified) {
      const auto& e = *verified.error;
      return std::make_pair(e.code == token_errc::expired ? error_code::token_expired
                                                          : error_code::bad_authentication,
                            "BIND token refused: " + e.reason);
    }
    claims = std::move(*verified.claims);
  } else if (st.upgrade_claims.expires_at <= unix_now()) {
    return std::make_pair(error_code::token_expired, std::string("the connection's token expired"));
  }
  if (!claims_cover(claims, m.realm_path)) {
    return std::make_pair(error_code::permission_denied, "the token of user '" + claims.user_id +
                                                             "' does not cover " + m.realm_path);
  }
  user_id = claims.user_id;
  return std::nullopt;
}

// A BIND refused before it reaches a realm, counted by reason. A session-level code ends that
// session only; reuse_of_session_ident ends the connection.
void refuse_bind(connection_actor* self, session_ident session, error_code code, std::string why) {
  self->state.context->metrics->record_bind_refused(code);
  session_error(self, session, code, std::move(why), false);
}

void on_bind(connection_actor* self, protocol::bind_message&& m) {
  auto& st = self->state;
  if (st.sessions.count(m.session) != 0) {
    return refuse_bind(self, m.session, error_code::reuse_of_session_ident,
                       "BIND with session ident " + std::to_string(m.session) +
                           ", which is live on this connection");
  }
  st.retired.erase(m.session);
  if (st.sessions.size() >= st.context->options.max_sessions_per_connection) {
    return refuse_bind(
        self, m.session, error_code::too_many_sessions,
        "this connection already carries " + std::to_string(st.sessions.size()) + " sessions");
  }
  std::string user_id;
  if (auto refused = check_bind_token(self, m, user_id)) {
    return refuse_bind(self, m.session, refused->first, std::move(refused->second));
  }
  st.context->metrics->binds.fetch_add(1, std::memory_order_relaxed);
  const auto bind_id = st.next_bind_id++;
  conn_session s;
  s.ident = m.session;
  s.bind_id = bind_id;
  st.sessions.emplace(m.session, std::move(s));
  st.by_bind[bind_id] = m.session;
  self->send(st.directory, session_bind{caf::actor_cast<caf::actor>(self), bind_id, m.session,
                                        std::move(m.realm_path), std::move(user_id)});
}

std::string check_upload(const conn_session& s, const protocol::upload_message& m,
                         error_code& code) {
  code = error_code::bad_progress;
  if (m.client_version < s.upload_client_version) return "upload cursor went backwards";
  if (m.last_integrated_server_version < s.upload_server_version) {
    return "last integrated server version went backwards";
  }
  version_type previous = 0;
  for (const auto& c : m.changesets) {
    code = error_code::bad_changeset;
    if (auto why = protocol::validate(c); !why.empty()) return why;
    if (c.server_version != 0) return "changeset carries a server version in UPLOAD";
    if (c.origin_file_ident != 0) return "changeset carries an origin file ident in UPLOAD";
    code = error_code::bad_client_version;
    if (c.client_version <= previous) return "changeset client versions are not increasing";
    if (c.client_version > m.client_version) return "changeset is newer than the upload cursor";
    previous = c.client_version;
  }
  return {};
}

template <class Message>
conn_session* live_session(connection_actor* self, const Message& m) {
  auto& st = self->state;
  auto it = st.sessions.find(m.session);
  if (it != st.sessions.end()) return &it->second;
  if (auto retired = st.retired.find(m.session); retired != st.retired.end()) {
    // Late messages for an ended session are ignored; an UNBIND after a session ERROR still
    // gets its UNBOUND so the client can complete its unbind.
    if constexpr (std::is_same_v<Message, protocol::unbind_message>) {
      if (retired->second) {
        retired->second = false;
        send_message(self, protocol::unbound_message{m.session});
      }
    }
    return nullptr;
  }
  connection_error(self, error_code::bad_session_ident,
                   "session ident " + std::to_string(m.session) + " was never bound");
  return nullptr;
}

void on_session_message(connection_actor* self, conn_session& s, protocol::client_message&& msg) {
  auto& st = self->state;
  if (!s.realm) {  // the realm has not answered the BIND yet: keep the order
    s.pending.push_back(std::move(msg));
    return;
  }
  std::visit(
      [&](auto&& m) {
        using T = std::decay_t<decltype(m)>;
        if constexpr (std::is_same_v<T, protocol::client_ident_message>) {
          if (s.ident_sent) {
            return session_error(self, s.ident, error_code::session_message_order, "second IDENT");
          }
          s.ident_sent = true;
          self->send(s.realm, session_ident_request{s.bind_id, m});
        } else if constexpr (std::is_same_v<T, protocol::upload_message>) {
          if (!s.ident_sent) {
            return session_error(self, s.ident, error_code::session_message_order,
                                 "UPLOAD before IDENT");
          }
          error_code code{};
          if (auto why = check_upload(s, m, code); !why.empty()) {
            return session_error(self, s.ident, code, std::move(why));
          }
          s.upload_client_version = m.client_version;
          s.upload_server_version = m.last_integrated_server_version;
          self->send(
              s.realm,
              session_upload{s.bind_id, std::make_shared<protocol::upload_message>(std::move(m)),
                             std::chrono::steady_clock::now()});
        } else if constexpr (std::is_same_v<T, protocol::client_mark_message>) {
          if (!s.ident_sent) {
            return session_error(self, s.ident, error_code::session_message_order,
                                 "MARK before IDENT");
          }
          self->send(s.realm, session_mark{s.bind_id, m.request});
        } else if constexpr (std::is_same_v<T, protocol::unbind_message>) {
          const auto ident = s.ident;
          forget_session(self, ident, true);
          st.retired[ident] = false;
          send_message(self, protocol::unbound_message{ident});
        }
      },
      std::move(msg));
}

void dispatch(connection_actor* self, protocol::client_message&& message) {
  if (auto* bind = std::get_if<protocol::bind_message>(&message))
    return on_bind(self, std::move(*bind));
  if (auto* ping = std::get_if<protocol::ping_message>(&message)) {
    return send_message(self, protocol::pong_message{ping->timestamp});
  }
  auto* s = std::visit(
      [&](const auto& m) -> conn_session* {
        using T = std::decay_t<decltype(m)>;
        if constexpr (std::is_same_v<T, protocol::bind_message> ||
                      std::is_same_v<T, protocol::ping_message>) {
          return nullptr;
        } else {
          return live_session(self, m);
        }
      },
      message);
  if (s != nullptr) on_session_message(self, *s, std::move(message));
}

void on_frame(connection_actor* self, const link_frame& f) {
  auto& st = self->state;
  --st.reads_outstanding;
  st.context->metrics->bytes_received.fetch_add(f.bytes->size(), std::memory_order_relaxed);
  if (st.closing || st.reading_stopped) return;
  auto decoded = protocol::decode_client_message(*f.bytes);
  if (!decoded) {
    const auto& e = decoded.error();
    if (e.session != 0 && !protocol::is_connection_level(e.code)) {
      // A well-formed frame refused for one session only (an illegal realm path on BIND): the
      // ERROR must name that session, and the connection goes on.
      refuse_bind(self, e.session, e.code, e.reason);
      maybe_read(self);
      return;
    }
    return connection_error(
        self, e.code, "frame refused: " + e.reason,
        e.code == error_code::limits_exceeded ? close_too_big : close_protocol_error);
  }
  dispatch(self, std::move(decoded.message()));
  maybe_read(self);
}

// ---- realm messages --------------------------------------------------------------------------

void on_session_bound(connection_actor* self, const session_bound& m) {
  auto& st = self->state;
  auto by = st.by_bind.find(m.bind_id);
  if (by == st.by_bind.end()) {
    self->send(m.realm, session_unbind{m.bind_id});
    return;
  }
  auto& s = st.sessions.at(by->second);
  s.realm = m.realm;
  st.context->metrics->sessions.fetch_add(1, std::memory_order_relaxed);
  auto pending = std::move(s.pending);
  const auto ident = s.ident;
  for (auto& msg : pending) {
    auto it = st.sessions.find(ident);
    if (it == st.sessions.end() || it->second.bind_id != m.bind_id || st.closing) break;
    on_session_message(self, it->second, std::move(msg));
  }
}

void on_session_frame(connection_actor* self, const session_frame& m) {
  auto& st = self->state;
  if (st.closing || st.by_bind.count(m.bind_id) == 0) return;  // session gone: drop
  enqueue(self, m.frame, m.wants_written ? m.bind_id : 0, m.changesets);
}

void on_session_failed(connection_actor* self, const session_failed& m) {
  auto& st = self->state;
  auto by = st.by_bind.find(m.bind_id);
  if (st.closing || by == st.by_bind.end()) return;
  session_error(self, by->second, m.code, m.message, false);
}

// ---- link messages ---------------------------------------------------------------------------

void on_wrote(connection_actor* self) {
  auto& st = self->state;
  if (st.in_flight.empty()) return;
  auto done = std::move(st.in_flight.front());
  st.in_flight.pop_front();
  const auto size = done.frame->size();
  st.queued_bytes -= size;
  if (done.credit_for != 0) {
    if (auto by = st.by_bind.find(done.credit_for); by != st.by_bind.end()) {
      if (auto& realm = st.sessions.at(by->second).realm) {
        self->send(realm, download_written{done.credit_for});
      }
    }
  }
  if (st.over_limit && st.queued_bytes <= st.context->options.send_queue_bytes) {
    st.over_limit = false;
    ++st.overflow_generation;
  }
  flush(self);
  maybe_read(self);
}

// Drops the actor's reference to its socket, then terminates. CAF counts an actor as done before
// it destroys its state, so a socket released only with the state could be closed while the
// server, done waiting for the actors, destroys the io_context (a race TSan reported). Released
// here, inside a handler, it is gone before the actor counts as done.
void quit_releasing_socket(connection_actor* self, caf::error reason = caf::none) {
  self->state.socket.reset();
  self->quit(std::move(reason));
}

void on_closed(connection_actor* self, const link_closed& m) {
  auto& st = self->state;
  spdlog::debug("{} closed: {}", st.tag, m.reason);
  end_all_sessions(self);
  for (auto& promise : st.goodbye_waiters) promise.deliver(shutdown_done{});
  st.goodbye_waiters.clear();
  quit_releasing_socket(self);
}

caf::behavior connection_behavior(connection_actor* self, context_ptr context, caf::actor directory,
                                  std::uint64_t id, std::shared_ptr<link> socket,
                                  token_claims claims) {
  auto& st = self->state;
  st.context = std::move(context);
  st.directory = std::move(directory);
  st.socket = std::move(socket);
  st.upgrade_claims = std::move(claims);
  st.tag = "conn[" + std::to_string(id) + "]";
  auto metrics = st.context->metrics;
  metrics->connections.fetch_add(1, std::memory_order_relaxed);
  metrics->connections_total.fetch_add(1, std::memory_order_relaxed);
  self->attach_functor([metrics] { metrics->connections.fetch_sub(1, std::memory_order_relaxed); });
  self->set_error_handler([self](caf::error& e) {
    spdlog::warn("{} error: {}", self->state.tag, self->system().render(e));
  });
  self->set_default_handler(log_and_drop);
  self->set_exit_handler([self](caf::exit_msg& exit) {
    if (exit.reason) quit_releasing_socket(self, std::move(exit.reason));  // as CAF's default
  });
  self->send(st.directory, register_connection{caf::actor_cast<caf::actor>(self)});
  spdlog::info("{} open from {} user={}", st.tag, st.socket->peer(), st.upgrade_claims.user_id);
  maybe_read(self);
  return {
      [self](const link_frame& m) { on_frame(self, m); },
      [self](const link_oversized& m) {
        --self->state.reads_outstanding;
        connection_error(self, error_code::limits_exceeded,
                         "frame larger than " +
                             std::to_string(self->state.context->options.max_frame_bytes) +
                             " bytes (" + std::to_string(m.bytes) + " so far)",
                         close_too_big);
      },
      [self](link_text_frame) {
        --self->state.reads_outstanding;
        connection_error(self, error_code::bad_syntax,
                         "text frame refused: actorsync.v1 messages are binary frames",
                         close_unsupported_data);
      },
      [self](link_wrote) { on_wrote(self); },
      [self](const link_closed& m) { on_closed(self, m); },
      [self](const session_bound& m) { on_session_bound(self, m); },
      [self](const session_frame& m) { on_session_frame(self, m); },
      [self](const session_failed& m) { on_session_failed(self, m); },
      [self](const overflow_check& m) {
        if (m.generation == self->state.overflow_generation && self->state.over_limit)
          overflow(self);
      },
      [self](close_deadline) { self->state.socket->abort(); },
      [self](stop_reading) -> shutdown_done {
        self->state.reading_stopped = true;
        return shutdown_done{};
      },
      [self](goodbye) -> caf::result<shutdown_done> {
        self->state.goodbye_waiters.push_back(self->make_response_promise());
        connection_error(self, error_code::going_away, "the server is shutting down",
                         close_going_away);
        return caf::delegated<shutdown_done>{};
      },
  };
}

}  // namespace

caf::actor spawn_connection_actor(caf::actor_system& system, context_ptr context,
                                  caf::actor directory, std::uint64_t id,
                                  std::shared_ptr<link> socket, token_claims upgrade_claims) {
  return system.spawn(connection_behavior, std::move(context), std::move(directory), id,
                      std::move(socket), std::move(upgrade_claims));
}

}  // namespace actorsync::server

// The connection actor's behaviour and protocol handling. See connection_actor.hpp (contract and
// diagram) and connection_actor_state.hpp (state).
#include "server/connection_actor.hpp"

#include <spdlog/spdlog.h>

#include <caf/all.hpp>

#include <actorsync/server/server_tuning.hpp>
#include "protocol/codec.hpp"
#include "server/connection_actor_state.hpp"

namespace actorsync::server {

namespace {

using protocol::error_code;
using protocol::session_ident;
using protocol::version_type;
using self_pointer = connection_actor_state::self_pointer;

connection_actor_impl::behavior_type connection_behavior(
    self_pointer self, context_ptr context, realm_directory_actor directory, std::uint64_t id,
    std::shared_ptr<server_websocket> socket, std::shared_ptr<memory_budget::account> account,
    token_claims claims) {
  auto* st = &self->state;
  st->self = self;
  st->context = std::move(context);
  st->directory = std::move(directory);
  st->socket = std::move(socket);
  st->account = std::move(account);
  st->upgrade_claims = std::move(claims);
  st->start(id);
  self->set_error_handler(
      [st](caf::error& e) { spdlog::warn("{} error: {}", st->tag, st->self->system().render(e)); });
  self->set_default_handler(log_and_drop);
  self->set_exit_handler([st](caf::exit_msg& exit) { st->exited(exit); });
  return {
      [st](const websocket_frame& m) { st->received(m); },
      [st](const websocket_oversized& m) { st->oversized(m); },
      [st](websocket_text_frame) { st->text_frame(); },
      [st](websocket_written) { st->written(); },
      [st](const websocket_closed& m) { st->closed(m); },
      [st](const websocket_frame_timeout& m) { st->frame_timed_out(m); },
      [st](memory_shed) { st->shed(); },
      [st](const session_bound& m) { st->bound(m); },
      [st](const session_frame& m) { st->deliver(m); },
      [st](const session_failed& m) { st->failed_by_realm(m); },
      [st](const overflow_check& m) { st->overflow_timer(m); },
      [st](close_deadline) { st->abort_socket(); },
      [st](stop_reading) { return st->stop_reading_frames(); },
      [st](goodbye) { return st->say_goodbye(); },
  };
}

std::string check_upload(const connection_session& s, const protocol::upload_message& m,
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

}  // namespace

void connection_actor_state::start(std::uint64_t id) {
  tag = "conn[" + std::to_string(id) + "]";
  auto metrics = context->metrics;
  metrics->connections.fetch_add(1, std::memory_order_relaxed);
  metrics->connections_total.fetch_add(1, std::memory_order_relaxed);
  self->attach_functor([metrics] { metrics->connections.fetch_sub(1, std::memory_order_relaxed); });
  self->send(directory, register_connection{caf::actor_cast<connection_actor>(self)});
  spdlog::info("{} open from {} user={}", tag, socket->peer(), upgrade_claims.user_id);
  maybe_read();
}

// ---- sending ---------------------------------------------------------------------------------

void connection_actor_state::flush() {
  while (in_flight.size() < tuning::write_window && !outbox.empty()) {
    auto& next = in_flight.emplace_back(std::move(outbox.front()));
    outbox.pop_front();
    // Counted when handed to the socket: a peer may read the frame before the write completes.
    auto& metrics = *context->metrics;
    metrics.bytes_sent.fetch_add(next.frame->size(), std::memory_order_relaxed);
    metrics.changesets_sent.fetch_add(next.changesets, std::memory_order_relaxed);
    socket->write(next.frame);
  }
  if (!in_flight.empty()) return;
  if (closing && !close_requested) {
    close_requested = true;
    if (abort_when_flushed) {
      socket->abort();
    } else {
      socket->close(close_code, "");
    }
  }
}

void connection_actor_state::maybe_read() {
  if (closing || reading_stopped) return;
  while (reads_outstanding < tuning::read_window) {
    if (queued_bytes > context->options.send_queue_bytes) return;  // backpressure
    ++reads_outstanding;
    socket->read_next();
  }
}

void connection_actor_state::add_queued(std::size_t bytes) {
  queued_bytes += bytes;
  account->charge(bytes);
}

void connection_actor_state::remove_queued(std::size_t bytes) {
  queued_bytes -= bytes;
  account->release(bytes);
}

void connection_actor_state::overflow() {
  for (const auto& f : outbox) remove_queued(f.frame->size());
  outbox.clear();
  connection_error(error_code::send_queue_overflow, "the client did not read its downloads in time",
                   websocket_close::policy_violation);
}

void connection_actor_state::enqueue(frame_ptr frame, bind_id_type credit_for,
                                     std::size_t changesets) {
  const auto limit = context->options.send_queue_bytes;
  add_queued(frame->size());
  outbox.push_back({std::move(frame), credit_for, changesets});
  if (!closing && queued_bytes > tuning::send_queue_overflow_factor * limit) {
    overflow();
    return;
  }
  if (!over_limit && queued_bytes > limit) {
    over_limit = true;
    self->delayed_send(self, context->options.send_queue_timeout,
                       overflow_check{++overflow_generation});
  }
  flush();
}

void connection_actor_state::send_message(const protocol::server_message& message) {
  enqueue(encode_frame(message));
}

void connection_actor_state::send_error(error_code code, std::string why, session_ident session) {
  context->metrics->record_error(code);
  if (why.size() > protocol::limits::max_error_message_bytes) {
    why.resize(protocol::limits::max_error_message_bytes);
  }
  send_message(protocol::error_message{static_cast<std::uint16_t>(code), std::move(why),
                                       protocol::is_retryable(code), session});
}

// ---- sessions --------------------------------------------------------------------------------

void connection_actor_state::forget_session(session_ident ident, bool tell_realm) {
  auto it = sessions.find(ident);
  if (it == sessions.end()) return;
  if (it->second.realm) {
    if (tell_realm) self->send(it->second.realm, session_unbind{it->second.bind_id});
    context->metrics->sessions.fetch_sub(1, std::memory_order_relaxed);
  } else if (tell_realm) {
    // Still binding: the realm's session_bound will find no session and unbind itself.
  }
  by_bind.erase(it->second.bind_id);
  sessions.erase(it);
  account->release(tuning::session_bookkeeping_bytes);
}

void connection_actor_state::session_error(session_ident ident, error_code code, std::string why,
                                           bool tell_realm) {
  // Codes below 200 are connection-level by the protocol (bad_message_order, ...): an ERROR
  // naming a session with such a code is undecodable for clients, so end the connection.
  if (protocol::is_connection_level(code)) return connection_error(code, std::move(why));
  spdlog::info("{} session {} error {}: {}", tag, ident, protocol::to_string(code), why);
  forget_session(ident, tell_realm);
  retired[ident] = true;
  send_error(code, std::move(why), ident);
}

void connection_actor_state::end_all_sessions() {
  std::vector<session_ident> idents;
  for (const auto& entry : sessions) idents.push_back(entry.first);
  for (auto ident : idents) forget_session(ident, true);
}

void connection_actor_state::connection_error(error_code code, std::string why,
                                              std::uint16_t close) {
  if (closing) return;
  spdlog::info("{} connection error {}: {}", tag, protocol::to_string(code), why);
  closing = true;
  close_code = close;
  end_all_sessions();
  send_error(code, std::move(why), 0);
  self->delayed_send(self, tuning::close_grace, close_deadline{});
}

// ---- client messages ---------------------------------------------------------------------------

// The token a BIND uses must be valid and cover the realm; returns the failure, if any.
std::optional<connection_actor_state::refusal> connection_actor_state::check_bind_token(
    const protocol::bind_message& m, std::string& user_id) {
  token_claims claims = upgrade_claims;
  if (!m.token.empty()) {
    auto verified = context->tokens.verify(m.token, unix_now());
    if (!verified) {
      const auto& e = *verified.error;
      return std::make_pair(e.code == token_errc::expired ? error_code::token_expired
                                                          : error_code::bad_authentication,
                            "BIND token refused: " + e.reason);
    }
    claims = std::move(*verified.claims);
  } else if (upgrade_claims.expires_at <= unix_now()) {
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
void connection_actor_state::refuse_bind(session_ident session, error_code code, std::string why) {
  context->metrics->record_bind_refused(code);
  session_error(session, code, std::move(why), false);
}

void connection_actor_state::bind(protocol::bind_message&& m) {
  if (sessions.count(m.session) != 0) {
    return refuse_bind(m.session, error_code::reuse_of_session_ident,
                       "BIND with session ident " + std::to_string(m.session) +
                           ", which is live on this connection");
  }
  retired.erase(m.session);
  if (sessions.size() >= context->options.max_sessions_per_connection) {
    return refuse_bind(
        m.session, error_code::too_many_sessions,
        "this connection already carries " + std::to_string(sessions.size()) + " sessions");
  }
  std::string user_id;
  if (auto refused = check_bind_token(m, user_id)) {
    return refuse_bind(m.session, refused->first, std::move(refused->second));
  }
  context->metrics->binds.fetch_add(1, std::memory_order_relaxed);
  const auto bind_id = next_bind_id++;
  connection_session s;
  s.ident = m.session;
  s.bind_id = bind_id;
  sessions.emplace(m.session, std::move(s));
  by_bind[bind_id] = m.session;
  account->charge(tuning::session_bookkeeping_bytes);  // may shed this connection
  self->send(directory, session_bind{caf::actor_cast<connection_actor>(self), bind_id, m.session,
                                     std::move(m.realm_path), std::move(user_id)});
}

template <class Message>
connection_session* connection_actor_state::live_session(const Message& m) {
  auto it = sessions.find(m.session);
  if (it != sessions.end()) return &it->second;
  if (auto retired_it = retired.find(m.session); retired_it != retired.end()) {
    // Late messages for an ended session are ignored; an UNBIND after a session ERROR still
    // gets its UNBOUND so the client can complete its unbind.
    if constexpr (std::is_same_v<Message, protocol::unbind_message>) {
      if (retired_it->second) {
        retired_it->second = false;
        send_message(protocol::unbound_message{m.session});
      }
    }
    return nullptr;
  }
  connection_error(error_code::bad_session_ident,
                   "session ident " + std::to_string(m.session) + " was never bound");
  return nullptr;
}

void connection_actor_state::session_message(connection_session& s,
                                             protocol::client_message&& msg) {
  if (!s.realm) {  // the realm has not answered the BIND yet: keep the order
    s.pending.push_back(std::move(msg));
    return;
  }
  std::visit(
      [&](auto&& m) {
        using T = std::decay_t<decltype(m)>;
        if constexpr (std::is_same_v<T, protocol::client_ident_message>) {
          if (s.ident_sent) {
            return session_error(s.ident, error_code::session_message_order, "second IDENT");
          }
          s.ident_sent = true;
          self->send(s.realm, session_ident_request{s.bind_id, m});
        } else if constexpr (std::is_same_v<T, protocol::upload_message>) {
          if (!s.ident_sent) {
            return session_error(s.ident, error_code::session_message_order, "UPLOAD before IDENT");
          }
          error_code code{};
          if (auto why = check_upload(s, m, code); !why.empty()) {
            return session_error(s.ident, code, std::move(why));
          }
          s.upload_client_version = m.client_version;
          s.upload_server_version = m.last_integrated_server_version;
          self->send(
              s.realm,
              session_upload{s.bind_id, std::make_shared<protocol::upload_message>(std::move(m)),
                             std::chrono::steady_clock::now()});
        } else if constexpr (std::is_same_v<T, protocol::client_mark_message>) {
          if (!s.ident_sent) {
            return session_error(s.ident, error_code::session_message_order, "MARK before IDENT");
          }
          self->send(s.realm, session_mark{s.bind_id, m.request});
        } else if constexpr (std::is_same_v<T, protocol::unbind_message>) {
          const auto ident = s.ident;
          forget_session(ident, true);
          retired[ident] = false;
          send_message(protocol::unbound_message{ident});
        }
      },
      std::move(msg));
}

void connection_actor_state::dispatch(protocol::client_message&& message) {
  if (auto* bind_message = std::get_if<protocol::bind_message>(&message))
    return bind(std::move(*bind_message));
  if (auto* ping = std::get_if<protocol::ping_message>(&message)) {
    return send_message(protocol::pong_message{ping->timestamp});
  }
  auto* s = std::visit(
      [&](const auto& m) -> connection_session* {
        using T = std::decay_t<decltype(m)>;
        if constexpr (std::is_same_v<T, protocol::bind_message> ||
                      std::is_same_v<T, protocol::ping_message>) {
          return nullptr;
        } else {
          return live_session(m);
        }
      },
      message);
  if (s != nullptr) session_message(*s, std::move(message));
}

// ---- WebSocket messages ----------------------------------------------------------------------

void connection_actor_state::received(const websocket_frame& f) {
  --reads_outstanding;
  account->release(f.bytes->size());  // charged by the socket as it arrived
  context->metrics->bytes_received.fetch_add(f.bytes->size(), std::memory_order_relaxed);
  if (closing || reading_stopped) return;
  auto decoded = protocol::decode_client_message(*f.bytes);
  if (!decoded) {
    const auto& e = decoded.error();
    if (e.session != 0 && !protocol::is_connection_level(e.code)) {
      // A well-formed frame refused for one session only (an illegal realm path on BIND): the
      // ERROR must name that session, and the connection goes on.
      refuse_bind(e.session, e.code, e.reason);
      maybe_read();
      return;
    }
    return connection_error(e.code, "frame refused: " + e.reason,
                            e.code == error_code::limits_exceeded
                                ? websocket_close::too_big
                                : websocket_close::protocol_error);
  }
  dispatch(std::move(decoded.message()));
  maybe_read();
}

void connection_actor_state::oversized(const websocket_oversized& event) {
  --reads_outstanding;
  connection_error(error_code::limits_exceeded,
                   "frame larger than " + std::to_string(context->options.max_frame_bytes) +
                       " bytes (" + std::to_string(event.bytes) + " so far)",
                   websocket_close::too_big);
}

void connection_actor_state::frame_timed_out(const websocket_frame_timeout& event) {
  context->metrics->frame_timeouts.fetch_add(1, std::memory_order_relaxed);
  abort_when_flushed = true;
  connection_error(error_code::frame_timeout,
                   "a frame was not finished within " +
                       std::to_string(context->options.frame_timeout.count()) + " ms (" +
                       std::to_string(event.bytes) + " bytes arrived)",
                   websocket_close::policy_violation);
}

void connection_actor_state::shed() {
  // Its queue goes at once: the budget counts on the bytes coming back.
  for (const auto& f : outbox) remove_queued(f.frame->size());
  outbox.clear();
  auto why = "the server is over its memory budget and this connection held the most (" +
             std::to_string(account->bytes()) + " bytes)";
  if (over_limit && !closing) {
    // A peer that does not read would find the ERROR behind frames it never takes: its socket
    // goes now, and with it the frames being written.
    context->metrics->record_error(error_code::server_overloaded);
    spdlog::info("{} connection error {}: {} (not reading: dropped)", tag,
                 protocol::to_string(error_code::server_overloaded), why);
    closing = true;
    end_all_sessions();
    socket->abort();
    return;
  }
  abort_when_flushed = true;
  connection_error(error_code::server_overloaded, std::move(why),
                   websocket_close::policy_violation);
}

void connection_actor_state::text_frame() {
  --reads_outstanding;
  connection_error(error_code::bad_syntax,
                   "text frame refused: actorsync.v1 messages are binary frames",
                   websocket_close::unsupported_data);
}

void connection_actor_state::written() {
  if (in_flight.empty()) return;
  auto done = std::move(in_flight.front());
  in_flight.pop_front();
  remove_queued(done.frame->size());
  if (done.credit_for != 0) {
    if (auto by = by_bind.find(done.credit_for); by != by_bind.end()) {
      if (auto& realm = sessions.at(by->second).realm) {
        self->send(realm, download_written{done.credit_for});
      }
    }
  }
  if (over_limit && queued_bytes <= context->options.send_queue_bytes) {
    over_limit = false;
    ++overflow_generation;
  }
  flush();
  maybe_read();
}

// Drops the actor's reference to its socket, then terminates. CAF counts an actor as done before
// it destroys its state, so a socket released only with the state could be closed while the
// server, done waiting for the actors, destroys the io_context (a race TSan reported). Released
// here, inside a handler, it is gone before the actor counts as done.
void connection_actor_state::quit_releasing_socket(caf::error reason) {
  socket.reset();
  self->quit(std::move(reason));
}

void connection_actor_state::closed(const websocket_closed& m) {
  spdlog::debug("{} closed: {}", tag, m.reason);
  end_all_sessions();
  for (auto& promise : goodbye_waiters) promise.deliver(shutdown_done{});
  goodbye_waiters.clear();
  quit_releasing_socket();
}

// ---- realm messages --------------------------------------------------------------------------

void connection_actor_state::bound(const session_bound& m) {
  auto by = by_bind.find(m.bind_id);
  if (by == by_bind.end()) {
    self->send(m.realm, session_unbind{m.bind_id});
    return;
  }
  auto& s = sessions.at(by->second);
  s.realm = m.realm;
  context->metrics->sessions.fetch_add(1, std::memory_order_relaxed);
  auto pending = std::move(s.pending);
  const auto ident = s.ident;
  for (auto& msg : pending) {
    auto it = sessions.find(ident);
    if (it == sessions.end() || it->second.bind_id != m.bind_id || closing) break;
    session_message(it->second, std::move(msg));
  }
}

void connection_actor_state::deliver(const session_frame& m) {
  if (closing || by_bind.count(m.bind_id) == 0) return;  // session gone: drop
  enqueue(m.frame, m.wants_written ? m.bind_id : 0, m.changesets);
}

void connection_actor_state::failed_by_realm(const session_failed& m) {
  auto by = by_bind.find(m.bind_id);
  if (closing || by == by_bind.end()) return;
  session_error(by->second, m.code, m.message, false);
}

// ---- timers, shutdown and exit ---------------------------------------------------------------

void connection_actor_state::overflow_timer(const overflow_check& m) {
  if (m.generation == overflow_generation && over_limit) overflow();
}

void connection_actor_state::abort_socket() {
  socket->abort();
}

shutdown_done connection_actor_state::stop_reading_frames() {
  reading_stopped = true;
  return shutdown_done{};
}

caf::result<shutdown_done> connection_actor_state::say_goodbye() {
  goodbye_waiters.push_back(self->make_response_promise<shutdown_done>());
  connection_error(error_code::going_away, "the server is shutting down",
                   websocket_close::going_away);
  return caf::delegated<shutdown_done>{};
}

void connection_actor_state::exited(caf::exit_msg& exit) {
  if (exit.reason) quit_releasing_socket(std::move(exit.reason));  // as CAF's default
}

connection_actor spawn_connection_actor(caf::actor_system& system, context_ptr context,
                                        realm_directory_actor directory, std::uint64_t id,
                                        std::shared_ptr<server_websocket> socket,
                                        std::shared_ptr<memory_budget::account> account,
                                        token_claims upgrade_claims) {
  return system.spawn(connection_behavior, std::move(context), std::move(directory), id,
                      std::move(socket), std::move(account), std::move(upgrade_claims));
}

}  // namespace actorsync::server

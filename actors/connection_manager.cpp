// The connection manager's behaviour and link handling. See connection_manager_state.hpp.
#include "actors/connection_manager.hpp"

#include <stdexcept>

#include <spdlog/spdlog.h>
#include <caf/all.hpp>

#include "actors/connection_manager_state.hpp"
#include "actors/memory_release.hpp"
#include "actors/sync_error.hpp"
#include "protocol/codec.hpp"

namespace actorsync::runtime {

namespace {

using self_pointer = caf::stateful_actor<connection_manager_state, connection_manager_impl::base>*;

std::uint32_t server_of(const link_entry& link) {
  return static_cast<std::uint32_t>(link.server);
}

connection_manager_impl::behavior_type manager_behavior(self_pointer self,
                                                        connection_manager_config config) {
  self->state.config = std::move(config);
  self->state.self = self;
  self->state.connects_per_server.assign(self->state.config.urls.size(), 0);
  auto* st = &self->state;
  self->set_down_handler([st](caf::down_msg& msg) { st->detach(msg.source); });
  self->set_default_handler(caf::drop);
  return {
      [st](attach_atom, const std::string& key, const std::string& token, const caf::actor& s) {
        st->attach(key, token, s);
      },
      [st](detach_atom, const caf::actor& session) { st->detach(session.address()); },
      [st](outgoing_frame& frame) { st->enqueue(std::move(frame)); },
      [st](const socket_opened& event) { st->opened(event); },
      [st](const socket_frame& event) { st->received(event); },
      [st](const socket_written& event) { st->written(event); },
      [st](const socket_failed& event) {
        if (auto* link = st->find(event.link, event.generation))
          st->failed(*link, event.error, event.message);
      },
      [st](connect_timeout_atom, std::uint64_t id, std::uint64_t generation) {
        auto* link = st->find(id, generation);
        if (link && link->status == link_status::connecting)
          st->failed(*link, sync_errc::connect_timeout, "connect timeout");
      },
      [st](retry_atom, std::uint64_t id, std::uint64_t generation) {
        auto* link = st->find(id, generation);
        if (link && link->status == link_status::waiting) st->connect(*link);
      },
      [st](keepalive_atom, std::uint64_t id, std::uint64_t generation) {
        st->keepalive(id, generation);
      },
      [st](linger_atom, std::uint64_t id, std::uint64_t generation) {
        st->linger_expired(id, generation);
      },
      [st](reconnect_atom) { st->reconnect_all(); },
      [st](release_atom) { st->release_check(); },
      [st](stats_atom) { return st->statistics(); },
      [self, st](shutdown_atom) {
        // The reply tells the embedder every socket was handed back to the I/O thread, so it
        // may stop that thread now.
        st->shutdown();
        self->quit();
        return true;
      },
  };
}

}  // namespace

link_entry* connection_manager_state::find(std::uint64_t id, std::uint64_t generation) {
  auto i = links.find(id);
  if (i == links.end() || i->second.generation != generation) return nullptr;
  return &i->second;
}

void connection_manager_state::attach(const std::string& key, const std::string& token,
                                      const caf::actor& session) {
  if (!session) return;
  if (auto known = session_links.find(session.id()); known != session_links.end()) {
    // Attached already: a session sends a fresh token after the link's token expired.
    if (!token.empty()) links.at(known->second.link).token = token;
    return;
  }
  auto open = links_by_key.find(key);
  const bool fresh = open == links_by_key.end() ||
                     links.at(open->second).sessions.size() >= config.max_sessions_per_link;
  if (fresh) {  // the key's first link, or its open one is full: another to the same endpoint
    auto& created = links.emplace(next_link, link_entry{config.backoff}).first->second;
    created.id = next_link++;
    created.key = key;
    created.token = token;
    links_by_key[key] = created.id;
  }
  auto& link = links.at(links_by_key.at(key));
  link.sessions.emplace(session.id(), session);
  session_links[session.id()] = attachment{link.id, 0};
  self->monitor(session);
  session_churn();
  ++link.linger_generation;  // a pending linger no longer applies
  link.close_when_flushed = false;
  const auto server = server_of(link);
  switch (link.status) {
    case link_status::connected:
      // A session joining a live shared link sees connecting, then connected.
      caf::anon_send(session, link_event::of(connection_state::connecting, server));
      caf::anon_send(session, link_event::of(connection_state::connected, server));
      break;
    case link_status::connecting:
      caf::anon_send(session, link_event::of(connection_state::connecting, server));
      break;
    case link_status::waiting:
      if (link.io || !fresh) {
        caf::anon_send(session, link_event::of(connection_state::disconnected, server));
        break;
      }
      [[fallthrough]];
    case link_status::failed:
      link.token = token;  // a new attempt uses the newest token
      connect(link);
      break;
  }
}

void connection_manager_state::detach(const caf::actor_addr& session) {
  auto i = session_links.find(session.id());
  if (i == session_links.end()) return;
  const auto [link_id, ident] = i->second;
  session_links.erase(i);
  session_churn();
  auto l = links.find(link_id);
  if (l == links.end()) return;
  auto& link = l->second;
  link.sessions.erase(session.id());
  // Routes of earlier bindings were removed by their UNBOUND or session ERROR, or by a lost link.
  if (auto r = link.routes.find(ident); r != link.routes.end() && r->second.address() == session)
    link.routes.erase(r);
  if (!link.sessions.empty()) return;
  if (link.status != link_status::connected) {
    close(link);
  } else if (config.linger.count() <= 0) {
    link.close_when_flushed = true;  // its UNBINDs still go out first
    pump(link);
  } else {
    self->delayed_send(self, config.linger, linger_atom_v, link.id, ++link.linger_generation);
  }
}

void connection_manager_state::enqueue(outgoing_frame frame) {
  if (!frame.owner) return;
  auto s = session_links.find(frame.owner.id());
  if (s == session_links.end()) return;
  auto& link = links.at(s->second.link);
  if (link.status != link_status::connected) return;  // the session rebinds after reconnect
  if (frame.session != 0) {
    // A new route is a new binding: a burst of binds (reconnects, or sessions that attached
    // long before they could bind) is a burst too, and may outlast a release made meanwhile.
    if (link.routes.try_emplace(frame.session, frame.owner).second) session_churn();
    s->second.ident = frame.session;
  }
  auto size = frame.bytes ? frame.bytes->size() : 0;
  auto owner = frame.owner.id();
  release.last_traffic = self->clock().now();
  link.outbox.push(owner, std::move(frame), size);
  pump(link);
}

void connection_manager_state::pump(link_entry& link) {
  if (link.status != link_status::connected || link.in_flight) return;
  if (auto next = link.outbox.pop()) {
    link.in_flight = std::move(*next);
    link.io->write(link.in_flight->bytes);
  } else if (link.close_when_flushed && link.sessions.empty()) {
    close(link);
  }
}

void connection_manager_state::written(const socket_written& event) {
  auto* link = find(event.link, event.generation);
  if (!link || !link->in_flight) return;
  auto done = std::move(*link->in_flight);
  link->in_flight.reset();
  if (done.bytes) bytes_sent += done.bytes->size();
  if (done.is_upload) caf::anon_send(done.owner, frame_sent_atom_v);
  pump(*link);
}

void connection_manager_state::connect(link_entry& link) {
  ++link.generation;
  link.status = link_status::connecting;
  link.ping_outstanding = false;
  ++connects;
  ++connects_per_server[link.server];
  socket_target target{config.urls[link.server], link.token, link.id, link.generation,
                       self->address()};
  link.io = config.socket_factory ? config.socket_factory(std::move(target))
                                  : make_client_websocket(*config.io, std::move(target));
  link.io->start();
  tell_sessions(link, link_event::of(connection_state::connecting, server_of(link)));
  self->delayed_send(self, config.connect_timeout, connect_timeout_atom_v, link.id,
                     link.generation);
}

void connection_manager_state::opened(const socket_opened& event) {
  auto* link = find(event.link, event.generation);
  if (!link || link->status != link_status::connecting) return;
  link->status = link_status::connected;
  link->last_activity = self->clock().now();
  link->backoff.connected(link->last_activity);
  log().debug("link[{}] key={} connected to {} ({} sessions)", link->id, link->key,
              config.urls[link->server].text(), link->sessions.size());
  tell_sessions(*link, link_event::of(connection_state::connected, server_of(*link)));
  self->delayed_send(self, config.ping_interval, keepalive_atom_v, link->id, link->generation);
}

void connection_manager_state::received(const socket_frame& event) {
  auto* link = find(event.link, event.generation);
  if (!link) return;
  link->last_activity = self->clock().now();  // any traffic counts as liveness, not only PONG
  release.last_traffic = link->last_activity;
  if (!event.message) return;  // part of a large frame: liveness only
  bytes_received += event.bytes;
  const auto& message = *event.message;
  if (auto* error = std::get_if<protocol::error_message>(&message); error && error->session == 0) {
    failed(*link, from_protocol(static_cast<protocol::error_code>(error->code)), error->message);
    return;
  }
  if (std::holds_alternative<protocol::pong_message>(message)) {
    link->ping_outstanding = false;
    return;
  }
  auto route = link->routes.find(protocol::session_of(message));
  if (route == link->routes.end()) return;  // a session that already left
  caf::anon_send(route->second, incoming_message{event.message});
  // UNBOUND and a session-level ERROR end that binding on the server: its ident is dead.
  if (std::holds_alternative<protocol::unbound_message>(message) ||
      std::holds_alternative<protocol::error_message>(message))
    link->routes.erase(route);
}

void connection_manager_state::failed(link_entry& link, sync_errc code,
                                      const std::string& message) {
  const auto failed_at = server_of(link);  // the event names the server that failed
  const auto reason = static_cast<std::size_t>(code);
  if (failures_by_reason.size() <= reason) failures_by_reason.resize(reason + 1);
  ++failures_by_reason[reason];
  const auto next = next_server(link.server, config.urls.size());
  if (next == link.server) {
    log().info("link[{}] key={} lost: {} ({})", link.id, link.key, to_string(code), message);
  } else {
    log().info("link[{}] key={} lost: {} ({}) at {}; next attempt at {}", link.id, link.key,
               to_string(code), message, config.urls[link.server].text(), config.urls[next].text());
  }
  // The next attempt, after the same backoff, goes to the next server; its sessions bind there
  // as after any reconnect (only a successful connection resets the backoff, as with one URL).
  link.server = next;
  auto now = self->clock().now();
  if (link.status == link_status::connected) link.backoff.disconnected(now);
  // The delay is drawn now so the sessions can be told when the link tries again.
  const bool retries = !link.sessions.empty() && !is_fatal(code);
  const auto retry_in = retries ? link.backoff.next_delay() : std::chrono::milliseconds{0};
  auto event = link_event::failure(code, message, failed_at, retry_in);
  client_websocket::retire(std::move(link.io));
  link.outbox.clear();
  link.in_flight.reset();
  link.routes.clear();  // sessions bind again with fresh idents
  ++link.generation;    // stale events of the old socket are dropped
  for (auto& [id, session] : link.sessions) {
    // One fresh token is enough for the link's retry: one session is asked for it.
    event.give_fresh_token = code == sync_errc::token_expired && id == link.sessions.begin()->first;
    caf::anon_send(session, event);
  }
  if (link.sessions.empty()) {
    close(link);
    return;
  }
  if (is_fatal(code)) {
    link.status = link_status::failed;
    return;
  }
  link.status = link_status::waiting;
  self->delayed_send(self, retry_in, retry_atom_v, link.id, link.generation);
}

void connection_manager_state::keepalive(std::uint64_t id, std::uint64_t generation) {
  auto* link = find(id, generation);
  if (!link || link->status != link_status::connected) return;
  auto now = self->clock().now();
  bool silent = link->ping_outstanding && link->last_activity < link->ping_sent_at;
  if (silent && now - link->ping_sent_at >= config.pong_timeout) {
    failed(*link, sync_errc::pong_timeout, "no traffic after PING");
    return;
  }
  if (!silent) {
    auto bytes = std::make_shared<std::vector<std::uint8_t>>();
    auto stamp = std::chrono::duration_cast<std::chrono::milliseconds>(
                     std::chrono::system_clock::now().time_since_epoch())
                     .count();
    protocol::encode(protocol::ping_message{static_cast<std::uint64_t>(stamp)}, *bytes);
    auto size = bytes->size();
    link->outbox.push_priority(outgoing_frame{0, std::move(bytes), false, {}}, size);
    link->ping_outstanding = true;
    link->ping_sent_at = now;
    pump(*link);
  }
  auto next = std::min(config.ping_interval, config.pong_timeout);
  self->delayed_send(self, next, keepalive_atom_v, id, generation);
}

void connection_manager_state::linger_expired(std::uint64_t id, std::uint64_t generation) {
  auto i = links.find(id);
  if (i == links.end() || i->second.linger_generation != generation) return;
  auto& link = i->second;
  if (!link.sessions.empty()) return;
  if (link.status != link_status::connected) {
    close(link);
    return;
  }
  link.close_when_flushed = true;
  pump(link);  // closes the link (and erases it) once its last frames are written
}

void connection_manager_state::reconnect_all() {
  for (auto& [id, link] : links) {
    if (link.sessions.empty()) continue;
    if (link.status == link_status::waiting || link.status == link_status::failed) {
      link.backoff.reset();
      connect(link);  // bumps the generation: the pending retry is void
    }
  }
}

void connection_manager_state::close(link_entry& link) {
  log().debug("link[{}] key={} closed", link.id, link.key);
  client_websocket::retire(std::move(link.io));
  for (auto& [sid, session] : link.sessions) session_links.erase(sid);
  if (auto open = links_by_key.find(link.key);
      open != links_by_key.end() && open->second == link.id)
    links_by_key.erase(open);
  links.erase(link.id);  // `link` is dangling from here on
}

void connection_manager_state::tell_sessions(link_entry& link, const link_event& event) {
  for (auto& [id, session] : link.sessions) caf::anon_send(session, event);
}

void connection_manager_state::session_churn() {
  ++release.churn;
  if (config.release_after_sessions == 0 || release.timer_armed ||
      release.churn < config.release_after_sessions)
    return;
  release.timer_armed = true;
  self->delayed_send(self, config.release_quiet, release_atom_v);
}

void connection_manager_state::release_check() {
  release.timer_armed = false;
  const auto quiet_for = self->clock().now() - release.last_traffic;
  if (quiet_for < config.release_quiet) {  // the burst goes on: look again once it may be over
    release.timer_armed = true;
    self->delayed_send(
        self,
        std::chrono::duration_cast<std::chrono::milliseconds>(config.release_quiet - quiet_for) +
            std::chrono::milliseconds(1),
        release_atom_v);
    return;
  }
  release.churn = 0;
  if (release_free_memory()) ++release.releases;
  log().debug("connection manager: free memory released after a burst");
}

link_statistics connection_manager_state::statistics() const {
  link_statistics s;
  s.connects = connects;
  s.memory_releases = release.releases;
  s.connects_per_server = connects_per_server;
  s.failures_by_reason = failures_by_reason;
  s.bytes_sent = bytes_sent;
  s.bytes_received = bytes_received;
  s.links_connected_per_server.assign(config.urls.size(), 0);
  for (auto& [id, link] : links) {
    if (link.io) ++s.sockets_open;
    if (link.status == link_status::connected) ++s.links_connected_per_server[link.server];
    s.sessions_attached += link.sessions.size();
    s.bytes_pending += link.outbox.bytes();
    if (link.in_flight && link.in_flight->bytes) s.bytes_pending += link.in_flight->bytes->size();
  }
  return s;
}

void connection_manager_state::shutdown() {
  for (auto& [id, link] : links) {
    client_websocket::retire(std::move(link.io));
  }
  links.clear();
  links_by_key.clear();
  session_links.clear();
}

connection_manager_actor spawn_connection_manager(caf::actor_system& system,
                                                  connection_manager_config config) {
  if (config.urls.empty())
    throw std::invalid_argument("a connection manager needs at least one server URL");
  return system.spawn(manager_behavior, std::move(config));
}

}  // namespace actorsync::runtime

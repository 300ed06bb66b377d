// The directory's state and behaviour. See realm_directory.hpp.
#include "server/realm_directory.hpp"

#include <spdlog/spdlog.h>

#include <caf/all.hpp>
#include <set>
#include <unordered_map>

#include "cluster/rendezvous.hpp"
#include "server/cluster_service.hpp"
#include "server/ident_allocator.hpp"
#include "server/realm_actor.hpp"

namespace actorsync::server {

namespace {

struct realm_entry {
  realm_actor realm;
  std::uint64_t binds_forwarded = 0;
};

struct realm_directory_state {
  using self_pointer = caf::stateful_actor<realm_directory_state, realm_directory_actor::base>*;

  self_pointer self = nullptr;
  context_ptr context;
  ident_allocator_actor allocator;
  std::unordered_map<std::string, realm_entry> realms;
  std::set<connection_actor> connections;
  bool shutting_down = false;

  static inline const char* name = "actorsync.realm_directory";

  void bind(const session_bind& bind);
  void remote(const remote_request& m);
  void change(const change_seen& m);
  realm_entry& realm_for(const std::string& path);
  void realm_is_idle(const realm_idle& idle);
  void rebalance_realms(const rebalance& m);
  void add_connection(const register_connection& m);
  void down(const caf::down_msg& down);
  void exited(const caf::exit_msg& exit);
  caf::result<shutdown_done> stop_reading_everywhere(stop_reading m);
  caf::result<shutdown_done> drain_realms(drain m);
  caf::result<shutdown_done> goodbye_everywhere(goodbye m);

  std::vector<realm_actor> realm_handles() const;
  std::vector<connection_actor> connection_handles() const;
  template <class Handle, class Message>
  caf::result<shutdown_done> fan_out(const std::vector<Handle>& targets, Message message);
};

realm_directory_actor::behavior_type directory_behavior(realm_directory_state::self_pointer self,
                                                        context_ptr context) {
  auto* st = &self->state;
  st->self = self;
  st->context = std::move(context);
  st->allocator = spawn_ident_allocator(self->system(), st->context);
  self->set_down_handler([st](caf::down_msg& down) { st->down(down); });
  self->set_exit_handler([st](caf::exit_msg& exit) { st->exited(exit); });
  self->set_default_handler(log_and_drop);
  return {
      [st](const session_bind& m) { st->bind(m); },
      [st](const remote_request& m) { st->remote(m); },
      [st](const change_seen& m) { st->change(m); },
      [st](const rebalance& m) { st->rebalance_realms(m); },
      [st](const realm_idle& m) { st->realm_is_idle(m); },
      [st](const register_connection& m) { st->add_connection(m); },
      [st](stop_reading m) { return st->stop_reading_everywhere(m); },
      [st](drain m) { return st->drain_realms(m); },
      [st](goodbye m) { return st->goodbye_everywhere(m); },
  };
}

// Sends `message` as a request to every target; the returned promise completes when all of
// them answered (or failed, or timed out: shutdown must not hang on one stuck peer).
template <class Handle, class Message>
caf::result<shutdown_done> realm_directory_state::fan_out(const std::vector<Handle>& targets,
                                                          Message message) {
  if (targets.empty()) return shutdown_done{};
  auto promise = self->make_response_promise<shutdown_done>();
  auto remaining = std::make_shared<std::size_t>(targets.size());
  auto one_done = [promise, remaining]() mutable {
    if (--*remaining == 0) promise.deliver(shutdown_done{});
  };
  const auto timeout = context->options.shutdown_timeout;
  for (const auto& target : targets) {
    self->request(target, timeout, message)
        .then([one_done](shutdown_done) mutable { one_done(); },
              [one_done](caf::error&) mutable { one_done(); });
  }
  return caf::delegated<shutdown_done>{};
}

realm_entry& realm_directory_state::realm_for(const std::string& path) {
  auto& entry = realms[path];
  if (!entry.realm) {
    entry.realm = spawn_realm_actor(self->system(), context,
                                    caf::actor_cast<realm_directory_actor>(self), allocator, path);
    self->monitor(entry.realm);
  }
  return entry;
}

void realm_directory_state::bind(const session_bind& bind) {
  if (shutting_down) return;  // the connection is being closed with going_away
  auto& entry = realm_for(bind.realm_path);
  ++entry.binds_forwarded;
  self->send(entry.realm, bind);
}

// Another node's request. Counted like a BIND, so that an idle report crossing it is stale and
// the realm is not retired under it. Only a take may start a realm actor here: an upload or
// ident request for a realm with no actor here is not this node's to answer.
void realm_directory_state::remote(const remote_request& m) {
  const auto& path = m.request->realm;
  const bool take = m.request->kind == cluster::bus_request_kind::take_realm;
  if ((!take && realms.find(path) == realms.end()) || (take && shutting_down)) {
    cluster::bus_reply no;
    no.ok = false;
    no.error = storage::storage_errc::realm_owned_elsewhere;
    no.message = shutting_down ? "this node is draining" : "realm " + path + " is not served here";
    m.reply.respond(cluster::encode(no));
    return;
  }
  auto& entry = realm_for(path);
  ++entry.binds_forwarded;
  caf::anon_send(caf::actor_cast<realm_actor_impl>(entry.realm), m);
}

void realm_directory_state::change(const change_seen& m) {
  auto it = realms.find(m.notice.realm);
  if (it == realms.end()) return;  // no session of that realm here
  caf::anon_send(caf::actor_cast<realm_actor_impl>(it->second.realm),
                 realm_changed{m.notice.version});
}

// Only realms whose preferred owner is now another node are told: on a settled cluster a change
// of the live nodes moves about 1/N of them, and the others need no message.
void realm_directory_state::rebalance_realms(const rebalance& m) {
  const auto& here = context->cluster->node_id();
  for (const auto& [path, entry] : realms) {
    if (cluster::preferred_owner(path, m.live_nodes) != here)
      caf::anon_send(caf::actor_cast<realm_actor_impl>(entry.realm), m);
  }
}

void realm_directory_state::realm_is_idle(const realm_idle& idle) {
  auto it = realms.find(idle.realm_path);
  if (it == realms.end() || it->second.binds_forwarded != idle.binds_seen) return;
  if (it->second.realm.address() != caf::actor_cast<caf::actor_addr>(self->current_sender()))
    return;
  self->send(it->second.realm, realm_retire{});
  realms.erase(it);
}

void realm_directory_state::add_connection(const register_connection& m) {
  connections.insert(m.connection);
  self->monitor(m.connection);
}

void realm_directory_state::down(const caf::down_msg& down) {
  for (auto it = connections.begin(); it != connections.end(); ++it) {
    if (it->address() == down.source) {
      connections.erase(it);
      return;
    }
  }
  for (auto it = realms.begin(); it != realms.end(); ++it) {
    if (it->second.realm.address() == down.source) {
      if (down.reason)
        spdlog::error("realm[{}] stopped: {}", it->first, self->system().render(down.reason));
      realms.erase(it);
      return;
    }
  }
}

void realm_directory_state::exited(const caf::exit_msg& exit) {
  for (const auto& realm : realm_handles()) self->send_exit(realm, exit.reason);
  for (const auto& connection : connections) self->send_exit(connection, exit.reason);
  self->send_exit(allocator, exit.reason);
  self->quit(exit.reason);
}

caf::result<shutdown_done> realm_directory_state::stop_reading_everywhere(stop_reading m) {
  shutting_down = true;
  return fan_out(connection_handles(), m);
}

caf::result<shutdown_done> realm_directory_state::drain_realms(drain m) {
  return fan_out(realm_handles(), m);
}

caf::result<shutdown_done> realm_directory_state::goodbye_everywhere(goodbye m) {
  return fan_out(connection_handles(), m);
}

std::vector<realm_actor> realm_directory_state::realm_handles() const {
  std::vector<realm_actor> out;
  for (const auto& [path, entry] : realms) out.push_back(entry.realm);
  return out;
}

std::vector<connection_actor> realm_directory_state::connection_handles() const {
  return {connections.begin(), connections.end()};
}

}  // namespace

caf::result<caf::message> log_and_drop(caf::scheduled_actor* self, caf::message_view& message) {
  spdlog::warn("actor {} ({}) dropped an unexpected message: {}", self->id(), self->name(),
               message.content().stringify());
  return caf::sec::unexpected_message;
}

realm_directory_actor spawn_realm_directory(caf::actor_system& system, context_ptr context) {
  return system.spawn(directory_behavior, std::move(context));
}

}  // namespace actorsync::server

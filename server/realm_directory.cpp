#include "server/realm_directory.hpp"

#include <spdlog/spdlog.h>

#include <caf/all.hpp>
#include <unordered_map>

#include "server/realm_actor.hpp"
#include "server/server_messages.hpp"

namespace actorsync::server {

namespace {

struct realm_entry {
  caf::actor realm;
  std::uint64_t binds_forwarded = 0;
};

struct directory_state {
  context_ptr context;
  caf::actor allocator;
  std::unordered_map<std::string, realm_entry> realms;
  std::set<caf::actor> connections;
  bool shutting_down = false;
};

using directory_actor = caf::stateful_actor<directory_state>;

// Sends `message` as a request to every target; the returned promise completes when all of
// them answered (or failed, or timed out: shutdown must not hang on one stuck peer).
template <class Message>
caf::result<shutdown_done> fan_out(directory_actor* self, const std::vector<caf::actor>& targets,
                                   Message message) {
  if (targets.empty()) return shutdown_done{};
  auto promise = self->make_response_promise();
  auto remaining = std::make_shared<std::size_t>(targets.size());
  auto one_done = [promise, remaining]() mutable {
    if (--*remaining == 0) promise.deliver(shutdown_done{});
  };
  const auto timeout = self->state.context->options.shutdown_timeout;
  for (const auto& target : targets) {
    self->request(target, timeout, message)
        .then([one_done](shutdown_done) mutable { one_done(); },
              [one_done](caf::error&) mutable { one_done(); });
  }
  return caf::delegated<shutdown_done>{};
}

void on_bind(directory_actor* self, const session_bind& bind) {
  auto& st = self->state;
  if (st.shutting_down) return;  // the connection is being closed with going_away
  auto& entry = st.realms[bind.realm_path];
  if (!entry.realm) {
    entry.realm = spawn_realm_actor(self->system(), st.context, caf::actor_cast<caf::actor>(self),
                                    st.allocator, bind.realm_path);
    self->monitor(entry.realm);
  }
  ++entry.binds_forwarded;
  self->send(entry.realm, bind);
}

void on_realm_idle(directory_actor* self, const realm_idle& idle) {
  auto& st = self->state;
  auto it = st.realms.find(idle.realm_path);
  if (it == st.realms.end() || it->second.binds_forwarded != idle.binds_seen) return;
  if (it->second.realm.address() != caf::actor_cast<caf::actor_addr>(self->current_sender()))
    return;
  self->send(it->second.realm, realm_retire{});
  st.realms.erase(it);
}

void on_down(directory_actor* self, const caf::down_msg& down) {
  auto& st = self->state;
  for (auto it = st.connections.begin(); it != st.connections.end(); ++it) {
    if (it->address() == down.source) {
      st.connections.erase(it);
      return;
    }
  }
  for (auto it = st.realms.begin(); it != st.realms.end(); ++it) {
    if (it->second.realm.address() == down.source) {
      if (down.reason)
        spdlog::error("realm[{}] stopped: {}", it->first, self->system().render(down.reason));
      st.realms.erase(it);
      return;
    }
  }
}

std::vector<caf::actor> realm_handles(directory_actor* self) {
  std::vector<caf::actor> out;
  for (const auto& [path, entry] : self->state.realms) out.push_back(entry.realm);
  return out;
}

caf::behavior directory_behavior(directory_actor* self, context_ptr context) {
  auto& st = self->state;
  st.context = std::move(context);
  st.allocator = spawn_ident_allocator(self->system(), st.context);
  self->set_down_handler([self](caf::down_msg& down) { on_down(self, down); });
  self->set_exit_handler([self](caf::exit_msg& exit) {
    for (const auto& realm : realm_handles(self)) self->send_exit(realm, exit.reason);
    for (const auto& connection : self->state.connections) self->send_exit(connection, exit.reason);
    self->send_exit(self->state.allocator, exit.reason);
    self->quit(exit.reason);
  });
  self->set_default_handler(log_and_drop);
  return {
      [self](const session_bind& m) { on_bind(self, m); },
      [self](const realm_idle& m) { on_realm_idle(self, m); },
      [self](const register_connection& m) {
        self->state.connections.insert(m.connection);
        self->monitor(m.connection);
      },
      [self](stop_reading m) -> caf::result<shutdown_done> {
        self->state.shutting_down = true;
        return fan_out(self, {self->state.connections.begin(), self->state.connections.end()}, m);
      },
      [self](drain m) -> caf::result<shutdown_done> {
        return fan_out(self, realm_handles(self), m);
      },
      [self](goodbye m) -> caf::result<shutdown_done> {
        return fan_out(self, {self->state.connections.begin(), self->state.connections.end()}, m);
      },
  };
}

}  // namespace

caf::result<caf::message> log_and_drop(caf::scheduled_actor* self, caf::message_view& message) {
  spdlog::warn("actor {} ({}) dropped an unexpected message: {}", self->id(), self->name(),
               message.content().stringify());
  return caf::sec::unexpected_message;
}

caf::actor spawn_realm_directory(caf::actor_system& system, context_ptr context) {
  return system.spawn(directory_behavior, std::move(context));
}

}  // namespace actorsync::server

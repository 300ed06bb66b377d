// The realm actor in a cluster (docs/cluster.md): as the realm's owner it answers other nodes'
// requests; as a follower it forwards its sessions' uploads to the owner and sends them the
// history the owner commits (announced by change notices, or found by polling). State in
// realm_actor_state.hpp; the single-node behaviour in realm_actor.cpp.
#include <spdlog/spdlog.h>

#include <caf/all.hpp>

#include <actorsync/server/server_tuning.hpp>
#include "cluster/pg_history_store.hpp"
#include "cluster/rendezvous.hpp"
#include "protocol/codec.hpp"
#include "server/cluster_service.hpp"
#include "server/realm_actor_state.hpp"

namespace actorsync::server {

namespace {

using protocol::error_code;
using protocol::version_type;

void respond(const cluster::bus_responder& reply, const cluster::bus_reply& answer) {
  reply.respond(cluster::encode(answer));
}

cluster::bus_reply refusal(storage::storage_errc code, std::string message) {
  cluster::bus_reply out;
  out.ok = false;
  out.error = code;
  out.message = std::move(message);
  return out;
}

cluster::bus_reply to_reply(const storage::result<storage::integration_result>& outcome) {
  if (!outcome) return refusal(outcome.error().code, outcome.error().message);
  cluster::bus_reply out;
  out.integration = outcome.value();
  return out;
}

cluster::bus_reply to_reply(const storage::result<storage::file_ident_grant>& grant) {
  if (!grant) return refusal(grant.error().code, grant.error().message);
  cluster::bus_reply out;
  out.grant = grant.value();
  return out;
}

// The oldest queued changesets up to about tuning::max_forward_bytes (at least one): one bus
// message stays under NATS's max_payload however much a session queued.
std::vector<protocol::changeset> take_forward_batch(std::vector<protocol::changeset>& queued) {
  std::size_t count = 0, bytes = 0;
  while (count < queued.size()) {
    bytes += protocol::encoded_size(queued[count]);
    if (count > 0 && bytes > tuning::max_forward_bytes) break;
    ++count;
  }
  std::vector<protocol::changeset> batch(std::make_move_iterator(queued.begin()),
                                         std::make_move_iterator(queued.begin() + count));
  queued.erase(queued.begin(), queued.begin() + count);
  return batch;
}

}  // namespace

void realm_actor_state::forget_ownership() {
  owned = false;
  handing_over = false;
  serving.reset();
  arm_poll();
}

void realm_actor_state::stop_serving() {
  serving.reset();
  if (!owned) return;
  // Nothing in flight (callers make sure): another node may take the realm at once.
  context->store->release(path);
  owned = false;
  spdlog::debug("realm[{}] released", path);
}

void realm_actor_state::rebalanced(const std::vector<std::string>& live_nodes) {
  if (!serving || !writes_here()) return;
  const auto preferred = cluster::preferred_owner(
      path, live_nodes.empty() ? context->cluster->latest_live_nodes() : live_nodes);
  if (preferred.empty() || preferred == context->cluster->node_id()) return;
  spdlog::info("realm[{}] handed over to node {}, its preferred owner now", path, preferred);
  handing_over = true;
  context->metrics->realm_handovers.fetch_add(1, std::memory_order_relaxed);
  maybe_drained();
}

void realm_actor_state::remote(const remote_request& m) {
  ++binds_seen;  // the directory counted it: an idle report already sent is stale
  ++idle_generation;
  switch (m.request->kind) {
    case cluster::bus_request_kind::take_realm:
      take(m.reply);
      break;
    case cluster::bus_request_kind::upload:
      remote_upload(m);
      break;
    case cluster::bus_request_kind::allocate_ident:
      remote_allocate(m);
      break;
  }
  maybe_idle();
}

// The store marks a realm lost on any failed or fenced write, including ident grants this
// actor does not follow: its own flag is brought in line before it answers for the realm.
void realm_actor_state::check_still_owned() {
  if (owned && context->cluster->store().epoch(path) == 0) forget_ownership();
}

void realm_actor_state::take(const cluster::bus_responder& reply) {
  check_still_owned();
  std::string why;
  if (!drain_waiters.empty()) {
    why = "node " + context->cluster->node_id() + " is draining";
  } else if (handing_over) {
    why = "node " + context->cluster->node_id() + " is handing realm " + path + " over";
  } else if (ensure_owned(why)) {
    if (!serving) {
      auto subscription = context->cluster->serve(path);
      if (!subscription) {
        why = subscription.error().message;
        stop_serving();
      } else {
        serving = std::move(subscription.value());
        context->metrics->realm_acquisitions.fetch_add(1, std::memory_order_relaxed);
        spdlog::info("realm[{}] taken by node {} at version {}", path, context->cluster->node_id(),
                     latest);
        self->delayed_send(self, tuning::placement_settle, rebalance{});
        pump_all();  // local followers' figures may trail what the store loaded
      }
    }
    if (serving) return respond(reply, cluster::bus_reply{});
  }
  respond(reply, refusal(storage::storage_errc::realm_owned_elsewhere, why));
}

void realm_actor_state::remote_upload(const remote_request& m) {
  check_still_owned();
  if (!serving || !writes_here()) {
    return respond(m.reply, refusal(storage::storage_errc::realm_owned_elsewhere,
                                    "node " + context->cluster->node_id() +
                                        " does not serve realm " + path + " any more"));
  }
  const auto sequence = next_sequence++;
  // No session key: the answer goes back over the bus, straight from the store's writer thread
  // once the commit is durable; the message to this actor updates its own sessions.
  integrations[sequence] = pending_integration{{}, std::chrono::steady_clock::now(), nullptr};
  auto me = caf::actor_cast<realm_actor_impl>(self);
  context->store->integrate_async(
      path, m.request->client, std::move(m.request->changesets),
      [me, sequence, reply = m.reply](storage::result<storage::integration_result> outcome) {
        respond(reply, to_reply(outcome));
        caf::anon_send(
            me, integration_done{sequence,
                                 std::make_shared<storage::result<storage::integration_result>>(
                                     std::move(outcome))});
      });
}

void realm_actor_state::remote_allocate(const remote_request& m) {
  check_still_owned();
  if (!serving || !writes_here()) {
    return respond(m.reply, refusal(storage::storage_errc::realm_owned_elsewhere,
                                    "node " + context->cluster->node_id() +
                                        " does not serve realm " + path + " any more"));
  }
  context->store->allocate_client_file_ident_async(
      path, [reply = m.reply](storage::result<storage::file_ident_grant> grant) {
        respond(reply, to_reply(grant));
      });
}

// ---- follower --------------------------------------------------------------------------------

void realm_actor_state::forward_upload(const realm_session_key& key,
                                       std::vector<protocol::changeset> changesets) {
  auto& f = forwards[key];
  f.queued.insert(f.queued.end(), std::make_move_iterator(changesets.begin()),
                  std::make_move_iterator(changesets.end()));
  auto s = sessions.find(key);
  if (!f.in_flight && s != sessions.end() && s->second.ready) send_forward(key);
}

// Sends the session's queued changesets as one request; once nothing is in flight and this
// node owns the realm, they go to the store directly instead.
void realm_actor_state::send_forward(const realm_session_key& key) {
  auto f = forwards.find(key);
  if (f == forwards.end() || f->second.in_flight) return;
  auto s = sessions.find(key);
  if (s == sessions.end() || f->second.queued.empty()) {
    forwards.erase(f);
    return;
  }
  if (writes_here()) {
    auto changesets = std::move(f->second.queued);
    forwards.erase(f);
    return integrate_locally(key, std::chrono::steady_clock::now(), std::move(changesets));
  }
  auto changesets = take_forward_batch(f->second.queued);
  f->second.in_flight = true;
  f->second.sent = std::chrono::steady_clock::now();
  cluster::bus_request request;
  request.kind = cluster::bus_request_kind::upload;
  request.realm = path;
  request.from_node = context->cluster->node_id();
  request.client = s->second.grant;
  request.changesets = std::move(changesets);
  auto me = caf::actor_cast<realm_actor_impl>(self);
  context->cluster->to_owner(std::move(request), [me,
                                                  key](storage::result<cluster::bus_reply> reply) {
    caf::anon_send(
        me, owner_replied{key.first, key.second,
                          std::make_shared<storage::result<cluster::bus_reply>>(std::move(reply))});
  });
}

void realm_actor_state::owner_answered(const owner_replied& m) {
  const realm_session_key key{m.connection, m.bind_id};
  auto f = forwards.find(key);
  if (f == forwards.end()) return;  // the session ended meanwhile
  f->second.in_flight = false;
  const auto& reply = *m.reply;
  if (!reply || !reply.value().ok) {
    const auto code = reply ? reply.value().error : reply.error().code;
    const auto& message = reply ? reply.value().message : reply.error().message;
    return fail_session(key, to_protocol_error(code),
                        "upload through the realm's owner: " + message);
  }
  const auto& r = reply.value().integration;
  context->metrics->record_integration(std::chrono::steady_clock::now() - f->second.sent);
  latest = std::max(latest, r.server_version);
  if (auto s = sessions.find(key); s != sessions.end()) {
    s->second.integrated_client_version =
        std::max(s->second.integrated_client_version, r.last_integrated_client_version);
  }
  send_forward(key);
  pump_all();
  maybe_idle();
}

void realm_actor_state::changed(version_type version) {
  if (version <= latest) return;
  latest = version;
  pump_all();
}

void realm_actor_state::arm_poll() {
  if (poll_armed || owned) return;
  poll_armed = true;
  self->delayed_send(self, tuning::follower_poll_interval, follower_poll{++poll_generation});
}

// Change notices are not durable (NATS core): a follower with sessions asks the database now
// and then, so a missed notice delays a download by at most this interval.
void realm_actor_state::poll(const follower_poll& m) {
  if (m.generation != poll_generation) return;
  poll_armed = false;
  if (owned || sessions.empty()) return;
  if (auto head = context->store->try_latest_server_version(path)) changed(head.value());
  arm_poll();
}

}  // namespace actorsync::server

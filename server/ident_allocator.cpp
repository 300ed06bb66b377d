// The ident allocator's state and behaviour. See ident_allocator.hpp.
#include "server/ident_allocator.hpp"

#include <spdlog/spdlog.h>

#include <caf/all.hpp>
#include <unordered_map>

#include "server/cluster_service.hpp"

namespace actorsync::server {

namespace {

/// Allocations handed to the store, answered when its group commit made them durable.
struct ident_allocator_state {
  using self_pointer = caf::stateful_actor<ident_allocator_state, ident_allocator_impl::base>*;

  self_pointer self = nullptr;
  context_ptr context;
  std::uint64_t next_request = 0;
  std::unordered_map<std::uint64_t, caf::typed_response_promise<allocated_ident>> waiting;

  static inline const char* name = "actorsync.ident_allocator";

  caf::result<allocated_ident> allocate(const allocate_ident& m);
  void written(const ident_written& m);
};

allocated_ident to_allocated(const storage::result<storage::file_ident_grant>& grant) {
  if (!grant) return allocated_ident{false, {}, grant.error().message, grant.error().code};
  return allocated_ident{true, grant.value(), {}};
}

caf::result<allocated_ident> ident_allocator_state::allocate(const allocate_ident& m) {
  const auto request = next_request++;
  auto promise = self->make_response_promise<allocated_ident>();
  waiting.emplace(request, promise);
  auto me = caf::actor_cast<ident_allocator_impl>(self);
  if (m.at_owner) {
    // Cluster: the realm's owner grants it; the callback runs on a bus thread.
    cluster::bus_request ask;
    ask.kind = cluster::bus_request_kind::allocate_ident;
    ask.realm = m.realm_path;
    ask.from_node = context->cluster->node_id();
    context->cluster->to_owner(std::move(ask),
                               [me, request](storage::result<cluster::bus_reply> reply) {
                                 allocated_ident outcome;
                                 if (!reply) {
                                   outcome.error = reply.error().message;
                                   outcome.code = reply.error().code;
                                 } else if (!reply.value().ok) {
                                   outcome.error = reply.value().message;
                                   outcome.code = reply.value().error;
                                 } else {
                                   outcome = allocated_ident{true, reply.value().grant, {}};
                                 }
                                 caf::anon_send(me, ident_written{request, std::move(outcome)});
                               });
    return promise;
  }
  // The callback runs on the store's writer thread: only a message comes back here.
  context->store->allocate_client_file_ident_async(
      m.realm_path, [me, request](storage::result<storage::file_ident_grant> grant) {
        caf::anon_send(me, ident_written{request, to_allocated(grant)});
      });
  return promise;
}

void ident_allocator_state::written(const ident_written& m) {
  auto node = waiting.extract(m.request);
  if (!node.empty()) node.mapped().deliver(m.outcome);
}

// Spawned with its context as an argument: CAF 0.17's init_fun_factory dereferences a null
// argument tuple (undefined behaviour UBSan reports) when a function actor takes none.
ident_allocator_impl::behavior_type ident_allocator_behavior(
    ident_allocator_state::self_pointer self, context_ptr context) {
  auto* st = &self->state;
  st->self = self;
  st->context = std::move(context);
  self->set_default_handler(log_and_drop);
  self->set_error_handler([st](caf::error& e) {
    spdlog::warn("ident allocator error: {}", st->self->system().render(e));
  });
  return {
      [st](const allocate_ident& m) { return st->allocate(m); },
      [st](const ident_written& m) { st->written(m); },
  };
}

}  // namespace

ident_allocator_actor spawn_ident_allocator(caf::actor_system& system, context_ptr context) {
  return system.spawn(ident_allocator_behavior, std::move(context));
}

}  // namespace actorsync::server

// Internal (CAF). The ident allocator: answers allocate_ident with allocated_ident once the grant
// is durable. Concurrent allocations (of different realms) share the history store's group
// write and fsync. Event-based: it never blocks, the store's writer thread does the (group)
// write and fsync and answers with ident_written.
// Its typed interface, ident_allocator_actor (server_messages.hpp):
//   allocate_ident -> allocated_ident        from realm actors
// and internally (ident_allocator_impl) ident_written from the store's writer thread.
#pragma once

#include <caf/fwd.hpp>

#include "server/server_context.hpp"
#include "server/server_messages.hpp"

namespace actorsync::server {

ident_allocator_actor spawn_ident_allocator(caf::actor_system& system, context_ptr context);

}  // namespace actorsync::server

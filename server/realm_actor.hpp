// Internal (CAF). One actor per active realm: allocates client file idents (through the
// ident allocator, into the history store's group commit), integrates uploads in arrival order
// through the history store's group commit, and keeps every bound session's download cursor moving.
//
// Per session:   bound --IDENT--> ready --(UPLOAD | MARK | download_written)*--> (unbind | error)
// A session has at most one history DOWNLOAD in flight (the connection answers
// download_written once it is on the socket): a slow reader holds back only itself.
// Acknowledgements (DOWNLOAD carrying last_integrated_client_version) go out as soon as an
// integration is durable. MARK is answered once the download cursor reached the history's
// latest server version as of the MARK's arrival.
// With no session and no pending integration for realm_idle_timeout the actor asks the
// directory to retire it.
#pragma once

#include <caf/fwd.hpp>
#include <string>

#include "server/server_context.hpp"

namespace actorsync::server {

caf::actor spawn_realm_actor(caf::actor_system& system, context_ptr context, caf::actor directory,
                             caf::actor allocator, std::string realm_path);

/// Actor answering allocate_ident with allocated_ident once the grant is durable. Concurrent
/// allocations (of different realms) share the history store's group write and fsync.
caf::actor spawn_ident_allocator(caf::actor_system& system, context_ptr context);

}  // namespace actorsync::server

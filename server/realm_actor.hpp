// Internal (CAF). One actor per active realm: allocates client file idents (through the
// ident allocator, into the history store's group commit), integrates uploads in arrival order
// through the history store's group commit, and keeps every bound session's download cursor moving.
// Its state and methods: realm_actor_state.hpp; its typed interface, realm_actor
// (server_messages.hpp):
//   session_bind                   from the directory (a connection's BIND)
//   session_ident_request, session_upload, session_mark, session_unbind, download_written
//                                  from the session's connection
//   realm_retire, drain -> shutdown_done   from the directory
// and internally (realm_actor_impl) integration_done from the store's writer thread and its
// idle timer, realm_idle_check.
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
#include "server/server_messages.hpp"

namespace actorsync::server {

realm_actor spawn_realm_actor(caf::actor_system& system, context_ptr context,
                              realm_directory_actor directory, ident_allocator_actor allocator,
                              std::string realm_path);

}  // namespace actorsync::server

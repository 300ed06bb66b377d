// Internal (CAF). The directory maps realm paths to realm actors: it spawns a realm actor on the
// first BIND, forwards BINDs to it, and retires it once it reports idle with no BIND in between
// (counts of BINDs forwarded and BINDs seen must agree, so a BIND racing the retirement is never
// lost). It also knows every connection, to fan shutdown steps out and collect the answers:
//   stop_reading -> every connection;  drain -> every realm;  goodbye -> every connection.
// An exit message stops the realms and the ident allocator too.
// Its typed interface, realm_directory_actor (server_messages.hpp):
//   session_bind, realm_idle, register_connection
//   stop_reading -> shutdown_done, drain -> shutdown_done, goodbye -> shutdown_done
#pragma once

#include <caf/fwd.hpp>

#include "server/server_context.hpp"
#include "server/server_messages.hpp"

namespace actorsync::server {

realm_directory_actor spawn_realm_directory(caf::actor_system& system, context_ptr context);

}  // namespace actorsync::server

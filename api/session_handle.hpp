// The one deliberate doorway from api/ to actors: the session's typed actor handle and the
// app's actor system, for app actors that talk to sessions directly (typed requests, typed
// replies; see actors/session_messages.hpp for the vocabulary). Includes CAF.
#pragma once

#include <actorsync/actors/session_messages.hpp>
#include <actorsync/api/app.hpp>
#include <actorsync/api/sync_session.hpp>

namespace actorsync::api {

/// The session actor behind `session`.
runtime::session_actor handle(sync_session& session);

/// The actor system of `owner`, to spawn app actors next to the sessions.
caf::actor_system& actor_system(app& owner);

}  // namespace actorsync::api

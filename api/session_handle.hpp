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

/// Registers the runtime's message types (type-ID block actorsync_runtime) in `config`: call it
/// on the configuration of an actor system an app will run in (make_app).
void add_runtime_types(caf::actor_system_config& config);

/// An app whose sessions, connection manager and helpers run in `host`, the application's own
/// actor system, instead of one of its own (app_config::scheduler_threads is then unused).
/// `host` must have the runtime's types (add_runtime_types) and outlive the app.
std::unique_ptr<app> make_app(caf::actor_system& host, app_config config);

}  // namespace actorsync::api

// A fleet observer's clock: an actor that reads the app's fleet_counters (O(1), no message to
// any session) every check_interval and tells its observer a fleet_event every `interval` and
// whenever an alarm is raised or cleared. It quits when its observer terminates.
#pragma once

#include <memory>

#include <caf/fwd.hpp>

#include <actorsync/actors/session_messages.hpp>
#include "actors/fleet_counters.hpp"

namespace actorsync::runtime {

/// Throws std::invalid_argument when check_interval is not positive, or when neither an
/// interval nor an alarm is set (the observer would never hear anything).
caf::actor spawn_fleet_monitor(caf::actor_system& system,
                               std::shared_ptr<const fleet_counters> counters,
                               fleet_observer_config config, fleet_observer observer);

}  // namespace actorsync::runtime

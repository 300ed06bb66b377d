#include "actors/fleet_monitor.hpp"

#include <caf/all.hpp>
#include <stdexcept>

namespace actorsync::runtime {

namespace {

struct fleet_monitor_state {
  std::shared_ptr<const fleet_counters> counters;
  fleet_observer_config config;
  fleet_observer observer;
  bool in_error_raised = false;
  bool oldest_raised = false;
  std::chrono::steady_clock::time_point next_snapshot;
};

std::chrono::milliseconds tick_of(const fleet_observer_config& config) {
  return config.interval.count() > 0 ? std::min(config.interval, config.check_interval)
                                     : config.check_interval;
}

// Sends an alarm event when `now_above` differs from what was last told.
void check_alarm(fleet_monitor_state& st, bool enabled, bool now_above, bool& raised,
                 fleet_alarm alarm, const fleet_status& status) {
  if (!enabled || now_above == raised) return;
  raised = now_above;
  caf::anon_send(st.observer, fleet_event{status, alarm, raised});
}

void tick(caf::event_based_actor* self, fleet_monitor_state& st) {
  const auto now = self->clock().now();
  const auto status = st.counters->read(now);
  const auto& c = st.config;
  check_alarm(st, c.sessions_in_error_above.has_value(),
              status.in_error > c.sessions_in_error_above.value_or(0), st.in_error_raised,
              fleet_alarm::sessions_in_error, status);
  check_alarm(st, c.oldest_unacknowledged_above.count() > 0,
              status.oldest_unacknowledged_age > c.oldest_unacknowledged_above, st.oldest_raised,
              fleet_alarm::oldest_unacknowledged, status);
  if (c.interval.count() > 0 && now >= st.next_snapshot) {
    st.next_snapshot = now + c.interval;
    caf::anon_send(st.observer, fleet_event{status, fleet_alarm::none, false});
  }
  self->delayed_send(self, tick_of(c), fleet_tick_atom_v);
}

}  // namespace

caf::actor spawn_fleet_monitor(caf::actor_system& system,
                               std::shared_ptr<const fleet_counters> counters,
                               fleet_observer_config config, fleet_observer observer) {
  if (config.check_interval.count() <= 0)
    throw std::invalid_argument("fleet observer: check_interval must be positive");
  if (config.interval.count() <= 0 && !config.sessions_in_error_above &&
      config.oldest_unacknowledged_above.count() <= 0)
    throw std::invalid_argument(
        "fleet observer: set an interval or an alarm (sessions_in_error_above, "
        "oldest_unacknowledged_above)");
  auto behavior = [](caf::event_based_actor* self,
                     std::shared_ptr<fleet_monitor_state> st) -> caf::behavior {
    self->monitor(st->observer);
    self->set_down_handler([self](caf::down_msg&) { self->quit(); });
    st->next_snapshot = self->clock().now() + st->config.interval;
    self->delayed_send(self, tick_of(st->config), fleet_tick_atom_v);
    return {[self, st](fleet_tick_atom) { tick(self, *st); }};
  };
  auto st = std::make_shared<fleet_monitor_state>();
  st->counters = std::move(counters);
  st->config = config;
  st->observer = std::move(observer);
  return system.spawn(behavior, std::move(st));
}

}  // namespace actorsync::runtime

#include "actors/fleet_counters.hpp"

#include <algorithm>

namespace actorsync::runtime {

void fleet_counters::apply(const fleet_contribution& c, std::int64_t sign) {
  auto add = [this, sign](slot s, std::int64_t by = 1) {
    counts_[s].fetch_add(sign * by, std::memory_order_relaxed);
  };
  add(sessions);
  add(c.state == session_state::active   ? active
      : c.state == session_state::paused ? paused
                                         : inactive);
  add(c.connection == connection_state::disconnected ? disconnected
      : c.connection == connection_state::connecting ? connecting
                                                     : connected);
  if (c.in_error) add(in_error);
  if (c.unacknowledged_bytes > 0) add(uploading);
  if (c.waiting_for_upload) add(waiting_for_upload);
  if (c.waiting_for_download) add(waiting_for_download);
  add(unacknowledged_bytes, static_cast<std::int64_t>(c.unacknowledged_bytes));
  add(download_remaining_bytes, static_cast<std::int64_t>(c.download_remaining_bytes));
}

void fleet_counters::update(fleet_contribution& mine, fleet_contribution now, const void* key) {
  now.counted = true;
  if (now == mine) return;
  if (mine.oldest_unacknowledged != now.oldest_unacknowledged) {
    std::lock_guard lock(oldest_mutex_);
    if (mine.counted && mine.oldest_unacknowledged != fleet_contribution::none)
      oldest_.erase({mine.oldest_unacknowledged, key});
    if (now.oldest_unacknowledged != fleet_contribution::none)
      oldest_.emplace(now.oldest_unacknowledged, key);
  }
  if (mine.counted) apply(mine, -1);
  apply(now, +1);
  mine = now;
}

void fleet_counters::remove(fleet_contribution& mine, const void* key) {
  if (!mine.counted) return;
  if (mine.oldest_unacknowledged != fleet_contribution::none) {
    std::lock_guard lock(oldest_mutex_);
    oldest_.erase({mine.oldest_unacknowledged, key});
  }
  apply(mine, -1);
  mine = fleet_contribution{};
}

fleet_status fleet_counters::read(time_point now) const {
  auto get = [this](slot s) {
    return static_cast<std::uint64_t>(std::max<std::int64_t>(0, counts_[s].load()));
  };
  fleet_status out;
  out.sessions = get(sessions);
  out.active = get(active);
  out.paused = get(paused);
  out.inactive = get(inactive);
  out.disconnected = get(disconnected);
  out.connecting = get(connecting);
  out.connected = get(connected);
  out.in_error = get(in_error);
  out.uploading = get(uploading);
  out.waiting_for_upload = get(waiting_for_upload);
  out.waiting_for_download = get(waiting_for_download);
  out.unacknowledged_bytes = get(unacknowledged_bytes);
  out.download_remaining_bytes = get(download_remaining_bytes);
  std::lock_guard lock(oldest_mutex_);
  if (!oldest_.empty())
    out.oldest_unacknowledged_age = std::chrono::ceil<std::chrono::milliseconds>(
        std::max(now - oldest_.begin()->first, std::chrono::steady_clock::duration::zero()));
  return out;
}

}  // namespace actorsync::runtime

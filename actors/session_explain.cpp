// "Why isn't this realm synced?": the session's flight recorder, its latest error and
// explain(), which answers from the session's own state (issue 20).
#include <spdlog/spdlog.h>
#include <algorithm>
#include <caf/all.hpp>

#include "actors/session_actor_state.hpp"

namespace actorsync::runtime {

namespace {

using std::chrono::milliseconds;

milliseconds rounded_up(std::chrono::steady_clock::duration d) {
  return std::chrono::ceil<milliseconds>(std::max(d, std::chrono::steady_clock::duration::zero()));
}

// Age of the oldest local write the server has not acknowledged, from its commit timestamp
// (wall clock, milliseconds since the epoch, as the store stamps it).
milliseconds oldest_unacknowledged_age(const storage::realm_store& store,
                                       protocol::version_type acknowledged) {
  auto oldest = store.local_changesets_after(acknowledged, 1);
  if (!oldest || oldest.value().empty()) return milliseconds{0};
  const auto now =
      std::chrono::duration_cast<milliseconds>(std::chrono::system_clock::now().time_since_epoch())
          .count();
  const auto stamp = static_cast<std::int64_t>(oldest.value().front().origin_timestamp);
  return milliseconds{std::max<std::int64_t>(0, now - stamp)};
}

std::string error_words(const session_explanation& e) {
  return std::string(to_string(e.last_error)) + " (" + e.last_error_message + ")";
}

std::string retry_words(const session_explanation& e) {
  return e.next_retry_in.count() > 0
             ? "; next attempt in " + std::to_string(e.next_retry_in.count()) + " ms"
             : std::string{};
}

}  // namespace

namespace {

bool fleet_enabled(const session_config& config) {
  return config.settings->fleet && config.status;
}

}  // namespace

void session_actor_state::note_local_writes(const storage::sync_metadata& meta) {
  const auto latest = meta.latest_client_version;
  // A commit notice may come after the write was uploaded and acknowledged already.
  if (!fleet_enabled(config) || latest <= meta.acknowledged_client_version) return;
  if (!noticed) noticed = std::make_unique<noticed_writes>();
  auto& entries = noticed->entries;
  if (!entries.empty() && entries.back().first >= latest) return;
  if (entries.size() >= fleet_noticed_entries) {
    entries.back().first = latest;
  } else {
    entries.emplace_back(latest, self->clock().now());
  }
}

void session_actor_state::note_acknowledged(protocol::version_type acknowledged) {
  if (!noticed) return;
  auto& entries = noticed->entries;
  const auto done = std::find_if(entries.begin(), entries.end(),
                                 [acknowledged](const auto& e) { return e.first > acknowledged; });
  const auto now = self->clock().now();
  for (auto i = entries.begin(); i != done; ++i)
    config.settings->fleet->commit_to_acknowledgement.observe(
        std::chrono::duration_cast<std::chrono::microseconds>(now - i->second));
  entries.erase(entries.begin(), done);
  if (entries.empty()) noticed.reset();
}

void session_actor_state::note_remote_commits(const protocol::download_message& m) {
  if (!fleet_enabled(config) || m.changesets.empty()) return;
  const auto now_ms =
      std::chrono::duration_cast<milliseconds>(std::chrono::system_clock::now().time_since_epoch())
          .count();
  for (const auto& changeset : m.changesets) {
    const auto stamp = static_cast<std::int64_t>(changeset.origin_timestamp);
    config.settings->fleet->remote_commit_to_visible.observe(
        std::chrono::milliseconds(std::max<std::int64_t>(0, now_ms - stamp)));
  }
}

void session_actor_state::publish_fleet() {
  if (!fleet_enabled(config)) return;
  const auto local = config.store->metadata();
  fleet_contribution now;
  now.unacknowledged_bytes =
      local.uploadable_bytes - std::min(local.uploadable_bytes, local.uploaded_bytes);
  now.download_remaining_bytes =
      reset ? sync_store().metadata().downloadable_bytes : local.downloadable_bytes;
  if (noticed && !noticed->entries.empty())
    now.oldest_unacknowledged = noticed->entries.front().second;
  now.state = lifecycle;
  now.connection = connection;
  now.in_error = fleet_in_error;
  now.waiting_for_upload = waits && waits->registry.upload_count() > 0;
  now.waiting_for_download = waits && waits->registry.download_count() > 0;
  config.settings->fleet->update(config.status->fleet, now, config.status.get());
}

void session_actor_state::record(recorded_kind kind, std::uint8_t detail, std::uint64_t value,
                                 std::uint16_t count) {
  const auto events = config.settings->flight_recorder_events;
  if (!diagnostics && events == 0) return;
  const auto now = self->clock().now();
  if (!diagnostics) diagnostics = std::make_unique<session_diagnostics>(events, now);
  diagnostics->recorder.record(now, kind, detail, value, count);
}

void session_actor_state::record_error(sync_errc code, const std::string& message,
                                       milliseconds retry_in) {
  record(recorded_kind::error, static_cast<std::uint8_t>(code),
         static_cast<std::uint64_t>(retry_in.count()));
  const auto now = self->clock().now();
  if (!diagnostics) diagnostics = std::make_unique<session_diagnostics>(0, now);
  diagnostics->last_error = std::make_unique<recorded_error>(recorded_error{code, message, now});
}

void session_actor_state::log_recent_events() const {
  if (!diagnostics || diagnostics->recorder.size() == 0) return;
  std::string lines;
  for (const auto& event : diagnostics->recorder.events(self->clock().now()))
    lines += "\n  -" + std::to_string(event.age.count()) + " ms  " + event.what;
  log().warn("{} its last events, oldest first:{}", describe(), lines);
}

session_explanation session_actor_state::explain() const {
  const auto now = self->clock().now();
  session_explanation e;
  e.realm = config.realm_path;
  e.state = lifecycle;
  e.connection = connection;
  if (diagnostics && diagnostics->last_error) {
    const auto& error = *diagnostics->last_error;
    e.has_error = true;
    e.last_error = error.code;
    e.last_error_fatal = is_fatal(error.code);
    e.last_error_message = error.message;
    e.last_error_age = rounded_up(now - error.at);
  }
  if (retry_at != std::chrono::steady_clock::time_point{})
    e.next_retry_in = rounded_up(retry_at - now);
  // Local writes are the realm's own, also during a client reset; downloads go to sync_store().
  const auto local = config.store->metadata();
  e.unacknowledged_changesets =
      local.latest_client_version -
      std::min(local.latest_client_version, local.acknowledged_client_version);
  e.unacknowledged_bytes =
      local.uploadable_bytes - std::min(local.uploadable_bytes, local.uploaded_bytes);
  if (e.unacknowledged_changesets > 0)
    e.oldest_unacknowledged_age =
        oldest_unacknowledged_age(*config.store, local.acknowledged_client_version);
  e.download_remaining_bytes = sync_store().metadata().downloadable_bytes;
  if (waits) {
    e.pending_upload_waits = waits->registry.upload_count();
    e.pending_download_waits = waits->registry.download_count();
  }
  if (diagnostics) e.recent_events = diagnostics->recorder.events(now);

  const auto set = [&e](sync_blocker blocker, std::string summary) {
    e.blocker = blocker;
    e.summary = std::move(summary);
  };
  if (lifecycle == session_state::inactive) {
    set(sync_blocker::stopped,
        e.has_error && e.last_error_fatal
            ? "stopped by a fatal error: " + error_words(e) + "; it stays stopped until closed"
            : "stopped: the realm was closed or the runtime shut down");
  } else if (lifecycle == session_state::paused) {
    set(sync_blocker::paused, "paused; resume() binds it again");
  } else if (reset) {
    set(sync_blocker::client_reset,
        "a client reset is under way: the server's copy is being downloaded");
  } else if (connection != connection_state::connected && e.has_error &&
             e.last_error == sync_errc::token_expired) {
    set(sync_blocker::token_expired,
        "the server refused the token as expired; a fresh one is used" + retry_words(e));
  } else if (connection == connection_state::connecting) {
    const auto url = link_server_url();
    set(sync_blocker::connecting, url.empty() ? "connecting" : "connecting to " + url);
  } else if (connection == connection_state::disconnected) {
    set(sync_blocker::not_connected,
        (e.has_error ? "not connected: " + error_words(e) : std::string("not connected")) +
            retry_words(e));
  } else if (phase == session_phase::awaiting_link) {
    set(sync_blocker::not_connected, "connected, but the server ended this session" +
                                         (e.has_error ? ": " + error_words(e) : std::string{}) +
                                         "; it binds again" + retry_words(e));
  } else if (phase == session_phase::binding) {
    set(sync_blocker::waiting_for_ident, "BIND sent; waiting for the server's IDENT");
  } else if (e.unacknowledged_changesets > 0) {
    set(sync_blocker::uploading,
        std::to_string(e.unacknowledged_changesets) + " local changesets (" +
            std::to_string(e.unacknowledged_bytes) +
            " bytes) not yet acknowledged, the oldest committed " +
            std::to_string(e.oldest_unacknowledged_age.count()) + " ms ago");
  } else if (e.download_remaining_bytes > 0 || e.pending_download_waits > 0) {
    set(sync_blocker::downloading,
        e.download_remaining_bytes > 0
            ? std::to_string(e.download_remaining_bytes) + " bytes still to download"
            : "waiting for the server to answer a download wait's MARK");
  } else {
    set(sync_blocker::none, "synced: bound, every local write acknowledged");
  }
  return e;
}

}  // namespace actorsync::runtime

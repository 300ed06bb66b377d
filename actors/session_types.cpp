#include <actorsync/actors/session_types.hpp>

namespace actorsync::runtime {

std::string_view to_string(connection_state state) {
  switch (state) {
    case connection_state::disconnected:
      return "disconnected";
    case connection_state::connecting:
      return "connecting";
    case connection_state::connected:
      return "connected";
  }
  return "unknown";
}

std::string_view to_string(session_state state) {
  switch (state) {
    case session_state::active:
      return "active";
    case session_state::paused:
      return "paused";
    case session_state::inactive:
      return "inactive";
  }
  return "unknown";
}

bool is_fatal(sync_errc code) {
  return code >= sync_errc::protocol_violation && code != sync_errc::client_reset;
}

std::string_view to_string(sync_errc code) {
  switch (code) {
    case sync_errc::connection_lost:
      return "connection_lost";
    case sync_errc::connect_timeout:
      return "connect_timeout";
    case sync_errc::connect_failed:
      return "connect_failed";
    case sync_errc::pong_timeout:
      return "pong_timeout";
    case sync_errc::server_going_away:
      return "server_going_away";
    case sync_errc::server_busy:
      return "server_busy";
    case sync_errc::token_expired:
      return "token_expired";
    case sync_errc::session_closed:
      return "session_closed";
    case sync_errc::protocol_violation:
      return "protocol_violation";
    case sync_errc::wrong_protocol_version:
      return "wrong_protocol_version";
    case sync_errc::bad_authentication:
      return "bad_authentication";
    case sync_errc::permission_denied:
      return "permission_denied";
    case sync_errc::illegal_realm_path:
      return "illegal_realm_path";
    case sync_errc::client_reset_required:
      return "client_reset_required";
    case sync_errc::bad_changeset:
      return "bad_changeset";
    case sync_errc::tls_failure:
      return "tls_failure";
    case sync_errc::storage_failure:
      return "storage_failure";
    case sync_errc::session_stopped:
      return "session_stopped";
    case sync_errc::client_reset:
      return "client_reset";
  }
  return "unknown";
}

std::string_view to_string(client_reset_mode mode) {
  switch (mode) {
    case client_reset_mode::manual:
      return "manual";
    case client_reset_mode::discard_unsynced:
      return "discard_unsynced";
    case client_reset_mode::recover_unsynced:
      return "recover_unsynced";
    case client_reset_mode::recover_or_discard:
      return "recover_or_discard";
  }
  return "unknown";
}

std::string_view to_string(client_reset_reason reason) {
  switch (reason) {
    case client_reset_reason::client_file_ident_unknown:
      return "client_file_ident_unknown";
    case client_reset_reason::client_ahead_of_server:
      return "client_ahead_of_server";
    case client_reset_reason::history_mismatch:
      return "history_mismatch";
    case client_reset_reason::resumed:
      return "resumed";
  }
  return "unknown";
}

namespace {

class sync_error_category final : public std::error_category {
 public:
  const char* name() const noexcept override { return "actorsync.sync"; }
  std::string message(int value) const override {
    return std::string(to_string(static_cast<sync_errc>(value)));
  }
};

}  // namespace

const std::error_category& sync_category() noexcept {
  static const sync_error_category category;
  return category;
}

std::error_code make_error_code(sync_errc code) noexcept {
  return {static_cast<int>(code), sync_category()};
}

std::string_view to_string(progress_direction direction) {
  switch (direction) {
    case progress_direction::upload:
      return "upload";
    case progress_direction::download:
      return "download";
  }
  return "unknown";
}

std::string_view to_string(progress_mode mode) {
  switch (mode) {
    case progress_mode::report_indefinitely:
      return "report_indefinitely";
    case progress_mode::for_currently_outstanding_work:
      return "for_currently_outstanding_work";
  }
  return "unknown";
}

std::string_view to_string(log_level level) {
  switch (level) {
    case log_level::trace:
      return "trace";
    case log_level::debug:
      return "debug";
    case log_level::info:
      return "info";
    case log_level::warn:
      return "warn";
    case log_level::error:
      return "error";
    case log_level::off:
      return "off";
  }
  return "unknown";
}

std::string_view to_string(wait_status status) {
  switch (status) {
    case wait_status::ok:
      return "ok";
    case wait_status::timed_out:
      return "timed_out";
    case wait_status::paused:
      return "paused";
    case wait_status::error:
      return "error";
  }
  return "unknown";
}

}  // namespace actorsync::runtime

namespace actorsync::runtime {

std::string_view to_string(sync_blocker blocker) {
  switch (blocker) {
    case sync_blocker::none:
      return "none";
    case sync_blocker::stopped:
      return "stopped";
    case sync_blocker::paused:
      return "paused";
    case sync_blocker::client_reset:
      return "client_reset";
    case sync_blocker::token_expired:
      return "token_expired";
    case sync_blocker::not_connected:
      return "not_connected";
    case sync_blocker::connecting:
      return "connecting";
    case sync_blocker::waiting_for_ident:
      return "waiting_for_ident";
    case sync_blocker::uploading:
      return "uploading";
    case sync_blocker::downloading:
      return "downloading";
  }
  return "unknown";
}

std::string_view to_string(fleet_alarm alarm) {
  switch (alarm) {
    case fleet_alarm::none:
      return "none";
    case fleet_alarm::sessions_in_error:
      return "sessions_in_error";
    case fleet_alarm::oldest_unacknowledged:
      return "oldest_unacknowledged";
  }
  return "unknown";
}

std::string to_string(const session_explanation& e) {
  auto ms = [](std::chrono::milliseconds d) { return std::to_string(d.count()) + " ms"; };
  std::string out = e.realm + ": " + e.summary + "\n";
  out += "  state " + std::string(to_string(e.state)) + ", connection " +
         std::string(to_string(e.connection)) + ", blocker " + std::string(to_string(e.blocker)) +
         "\n";
  if (e.has_error) {
    out += "  last error " + std::string(to_string(e.last_error)) +
           (e.last_error_fatal ? " (fatal)" : "") + " " + ms(e.last_error_age) +
           " ago: " + e.last_error_message + "\n";
  }
  if (e.next_retry_in.count() > 0) out += "  next attempt in " + ms(e.next_retry_in) + "\n";
  out += "  unacknowledged: " + std::to_string(e.unacknowledged_changesets) + " changesets, " +
         std::to_string(e.unacknowledged_bytes) + " bytes";
  if (e.unacknowledged_changesets > 0) out += ", oldest " + ms(e.oldest_unacknowledged_age);
  out += "\n  download remaining: " + std::to_string(e.download_remaining_bytes) +
         " bytes; waits pending: " + std::to_string(e.pending_upload_waits) + " upload, " +
         std::to_string(e.pending_download_waits) + " download\n";
  if (!e.recent_events.empty()) out += "  recent events (oldest first):\n";
  for (const auto& event : e.recent_events)
    out += "    -" + ms(event.age) + "  " + event.what + "\n";
  return out;
}

}  // namespace actorsync::runtime

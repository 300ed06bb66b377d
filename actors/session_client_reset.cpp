// Client reset (docs/sessions.md, "Client reset"): when the server cannot continue the realm's
// history, the session downloads the server's copy into a staging realm and then replaces the
// local state with it in one batch, replaying the unsynced local changes on top when the mode
// asks for it. The store keeps the reset pending across restarts until the batch is written.
#include <spdlog/spdlog.h>
#include <caf/all.hpp>

#include "actors/session_actor_state.hpp"
#include "actors/sync_error.hpp"

namespace actorsync::runtime {

namespace {

client_reset_reason reason_of(protocol::error_code code) {
  switch (code) {
    case protocol::error_code::bad_client_file_ident:
      return client_reset_reason::client_file_ident_unknown;
    case protocol::error_code::bad_server_version:
      return client_reset_reason::client_ahead_of_server;
    default:
      return client_reset_reason::history_mismatch;
  }
}

bool recovers(client_reset_mode mode) {
  return mode == client_reset_mode::recover_unsynced ||
         mode == client_reset_mode::recover_or_discard;
}

std::uint64_t unsynced_changesets(const storage::sync_metadata& meta) {
  return meta.latest_client_version -
         std::min(meta.latest_client_version, meta.acknowledged_client_version);
}

}  // namespace

bool session_actor_state::reset_instead_of_stopping(const protocol::error_message& error) {
  const auto mode = config.client_reset.mode;
  const auto code = static_cast<protocol::error_code>(error.code);
  if (reset) {  // the server refused the fresh replica too: nothing a second reset would change
    log().error("{} client reset failed: {}", describe(), error.message);
    return false;
  }
  if (mode == client_reset_mode::manual) {
    client_reset_event before{
        config.realm_path, false,         mode,
        reason_of(code),   error.message, unsynced_changesets(config.store->metadata())};
    tell_client_reset(before);
    return false;
  }
  begin_client_reset(reason_of(code), error.message);
  return true;
}

void session_actor_state::begin_client_reset(client_reset_reason reason, std::string message) {
  const auto mode = config.client_reset.mode;
  log().warn("{} client reset ({}, {}): {}", describe(), to_string(reason), to_string(mode),
             message);
  client_reset_event before{config.realm_path,
                            false,
                            mode,
                            reason,
                            message,
                            unsynced_changesets(config.store->metadata())};
  tell_client_reset(before);
  auto staging = config.store->begin_reset();
  if (!staging) return stop(from_storage(staging.error().code), staging.error().message);
  reset = std::make_unique<client_reset_progress>(
      client_reset_progress{std::move(staging.value()), reason, std::move(message), 0});
  // What the waits targeted belongs to the history being replaced.
  complete_all_waits({wait_status::error, sync_errc::client_reset});
  // The server ended the binding: bind again at once, as the staging replica.
  phase = session_phase::awaiting_link;
  binding_lost();
  self->send(self, rebind_atom_v, ++rebind_generation);
}

void session_actor_state::resume_pending_reset() {
  auto staging = config.store->begin_reset();  // starts the download again from nothing
  if (!staging) return stop(from_storage(staging.error().code), staging.error().message);
  log().warn("{} carries on a client reset begun before a restart", describe());
  reset = std::make_unique<client_reset_progress>(client_reset_progress{
      std::move(staging.value()), client_reset_reason::resumed, "begun before a restart", 0});
}

void session_actor_state::staging_identified() {
  if (!reset) return;
  reset->mark = next_request++;
  send(protocol::client_mark_message{ident, reset->mark});
}

bool session_actor_state::finish_client_reset_at(protocol::request_ident request) {
  if (!reset || reset->mark == 0 || request != reset->mark) return false;
  auto progress = std::move(reset);  // from here on the protocol uses the realm itself
  const auto mode = config.client_reset.mode;
  client_reset_event after{config.realm_path, true, mode, progress->reason, progress->message};
  auto outcome = config.store->finish_reset(*progress->staging, recovers(mode));
  if (!outcome && recovers(mode) && outcome.error().code == storage::storage_errc::bad_changeset) {
    after.recovery_failed = true;
    if (mode == client_reset_mode::recover_unsynced) {
      // The reset stays pending: the application decides (docs/sessions.md).
      on_error(sync_errc::client_reset_required,
               "the unsynced changes cannot be replayed on the server's copy: " +
                   outcome.error().message,
               {});
      return true;
    }
    outcome = config.store->finish_reset(*progress->staging, false);
  }
  if (!outcome) {
    stop(from_storage(outcome.error().code), outcome.error().message);
    return true;
  }
  after.recovered = outcome.value().recovered;
  after.discarded = outcome.value().discarded;
  after.unsynced_changesets = after.recovered + after.discarded;
  log().warn("{} client reset done: {} changesets recovered, {} discarded", describe(),
             after.recovered, after.discarded);
  // The binding goes on: the staging replica's file ident and cursors are the realm's now.
  upload_cursor = config.store->metadata().acknowledged_client_version;
  // Recovered writes were renumbered: what the fleet knew of unacknowledged ones starts over.
  noticed.reset();
  note_local_writes(config.store->metadata());
  check_backpressure();  // discarded writes may have brought the backlog down
  tell_client_reset(after);
  report_progress();
  upload_more();
  return true;
}

void session_actor_state::tell_client_reset(const client_reset_event& event) {
  if (event.after) {
    record(recorded_kind::reset_finished, 0, event.recovered);
  } else {
    record(recorded_kind::reset_begun, static_cast<std::uint8_t>(event.reason));
  }
  const auto& callback = event.after ? config.client_reset.after : config.client_reset.before;
  if (callback) callback(event);
  if (config.client_reset.observer) caf::anon_send(config.client_reset.observer, event);
}

}  // namespace actorsync::runtime

// The session's side of the sync protocol: attaching to a link, BIND/IDENT, UPLOAD from the
// last acknowledged client version, MARK, integrating DOWNLOADs, UNBOUND and ERROR.
#include <spdlog/spdlog.h>
#include <algorithm>
#include <caf/all.hpp>

#include "actors/session_actor_state.hpp"
#include "actors/sync_error.hpp"
#include "protocol/codec.hpp"

namespace actorsync::runtime {

void session_actor_state::attach() {
  if (phase != session_phase::detached) return;
  phase = session_phase::awaiting_link;
  set_connection(connection_state::connecting);
  // The link needs a token if it must open a connection; the BIND that follows uses the same
  // one, so the provider is called once per BIND.
  send_attach();
}

std::string session_actor_state::fresh_token() const {
  return config.settings->token_provider ? config.settings->token_provider() : std::string{};
}

// The server refused the link's token as expired: the link retries (after its backoff) with the
// token a session gives it, so give it a fresh one, and keep it for this session's next BIND.
void session_actor_state::refresh_link_token() {
  if (lifecycle != session_state::active) return;
  send_attach();
}

void session_actor_state::send_attach() {
  attach_token = std::make_unique<std::string>(fresh_token());
  caf::anon_send(config.settings->connection_manager, attach_atom_v, config.settings->link_key,
                 *attach_token, caf::actor_cast<caf::actor>(self));
}

void session_actor_state::detach() {
  retry_at = {};  // a detached session retries nothing until it attaches again
  attach_token.reset();
  if (phase == session_phase::detached || phase == session_phase::stopped) return;
  caf::anon_send(config.settings->connection_manager, detach_atom_v,
                 caf::actor_cast<caf::actor>(self));
  phase = session_phase::detached;
  binding_lost();
}

void session_actor_state::binding_lost() {
  ident = 0;
  download_figures_current = false;
  upload_in_outbox = false;
  if (waits) waits->registry.binding_lost();
}

void session_actor_state::on_link_event(const link_event& event) {
  if (phase == session_phase::detached || phase == session_phase::stopped) return;  // stale
  link_server = static_cast<std::uint16_t>(event.server);
  link_seen = true;
  switch (event.state) {
    case connection_state::connecting:
      retry_at = {};
      if (phase != session_phase::awaiting_link) {
        phase = session_phase::awaiting_link;
        binding_lost();
      }
      set_connection(connection_state::connecting);
      break;
    case connection_state::connected:
      set_connection(connection_state::connected);
      if (phase == session_phase::awaiting_link) send_bind();
      break;
    case connection_state::disconnected:
      phase = session_phase::awaiting_link;
      binding_lost();
      set_connection(connection_state::disconnected);
      if (event.has_error) on_error(event.error, event.message, event.retry_in);
      if (event.give_fresh_token) refresh_link_token();
      break;
  }
}

void session_actor_state::send_bind() {
  const auto meta = sync_store().metadata();
  if (config.store->metadata().sync_paused)
    return;  // the facade's pause is on its way (see upload_more)
  retry_at = {};
  ident = config.settings->ident_source->fetch_add(1) + 1;
  std::string token = attach_token ? std::move(*attach_token) : fresh_token();
  attach_token.reset();
  download_figures_current = false;
  record(recorded_kind::bind_sent, 0, ident);
  send(protocol::bind_message{ident, config.realm_path, std::move(token)});
  send(protocol::client_ident_message{ident, meta.client_file_ident, meta.file_ident_salt,
                                      meta.download_server_version,
                                      meta.download_last_integrated_client_version});
  upload_cursor = meta.acknowledged_client_version;
  if (meta.client_file_ident != 0) {
    phase = session_phase::bound;
    fleet_in_error = false;
    publish_fleet();
    staging_identified();  // a reset's MARK belongs to a binding: ask again on this one
    upload_more();
    send_marks();
  } else {
    phase = session_phase::binding;  // the server's IDENT allocates our file ident
  }
}

void session_actor_state::rebind(std::uint64_t generation) {
  if (generation != rebind_generation || lifecycle != session_state::active) return;
  if (phase != session_phase::awaiting_link || connection != connection_state::connected) return;
  send_bind();
}

void session_actor_state::session_ended(sync_errc code, const std::string& message) {
  if (is_fatal(code)) {
    on_error(code, message, {});  // stops the session
    return;
  }
  // The server ended this binding (its ident is dead there): bind again, with a fresh ident,
  // after a growing delay so a server that keeps refusing is not hammered.
  if (!rebind_backoff)
    rebind_backoff = std::make_unique<reconnect_backoff>(config.settings->rebind_backoff,
                                                         default_random_source());
  const auto delay = rebind_backoff->next_delay();
  on_error(code, message, delay);
  phase = session_phase::awaiting_link;
  binding_lost();
  self->delayed_send(self, delay, rebind_atom_v, ++rebind_generation);
}

void session_actor_state::send_marks() {
  if (phase != session_phase::bound) return;
  if (waits && waits->registry.assign_mark(next_request)) {
    record(recorded_kind::mark_sent, 0, next_request);
    send(protocol::client_mark_message{ident, next_request++});
  }
}

void session_actor_state::upload_more() {
  if (phase != session_phase::bound || upload_in_outbox) return;
  auto& store = sync_store();
  const auto meta = store.metadata();
  // The facade's pause() records the pause before it returns and before the session handles
  // it: nothing committed after pause() returned may leave meanwhile.
  if (meta.sync_paused || (reset && config.store->metadata().sync_paused)) return;
  if (upload_cursor >= meta.latest_client_version) return;
  auto batch = store.local_changesets_after(upload_cursor, config.settings->upload_batch_bytes);
  if (!batch) {
    stop(from_storage(batch.error().code), batch.error().message);
    return;
  }
  if (batch.value().empty()) return;
  protocol::upload_message upload;
  upload.session = ident;
  upload.client_version = batch.value().back().client_version;
  upload.last_integrated_server_version = meta.download_server_version;
  upload.changesets = std::move(batch.value());
  upload_cursor = upload.client_version;
  upload_in_outbox = true;
  record(recorded_kind::upload_sent, 0, upload.client_version,
         static_cast<std::uint16_t>(std::min<std::size_t>(upload.changesets.size(), 0xffff)));
  send(upload, true);
}

void session_actor_state::send(const protocol::client_message& message, bool is_upload) {
  auto bytes = std::make_shared<std::vector<std::uint8_t>>();
  protocol::encode(message, *bytes);
  caf::anon_send(
      config.settings->connection_manager,
      outgoing_frame{ident, std::move(bytes), is_upload, caf::actor_cast<caf::actor>(self)});
}

void session_actor_state::on_frame_sent() {
  upload_in_outbox = false;
  upload_more();
}

void session_actor_state::on_local_commit() {
  // Cleared before reading: a commit that the read below misses sends a new notice.
  commit_notice_pending->store(false);
  report_progress();
  check_backpressure();
  note_local_writes(config.store->metadata());
  publish_fleet();
  upload_more();
}

void session_actor_state::schedule_persist() {
  if (persist_armed) return;
  const auto meta = sync_store().metadata();
  if (meta.persisted_acknowledged_client_version == meta.acknowledged_client_version) return;
  persist_armed = true;
  self->delayed_send(self, config.settings->persist_acknowledgements_after, persist_atom_v);
}

void session_actor_state::persist_acknowledgements() {
  persist_armed = false;
  // Often a local commit has written them meanwhile; then this writes nothing.
  if (auto status = sync_store().persist_metadata(); !status) {
    stop(from_storage(status.error().code), status.error().message);
  }
}

void session_actor_state::note_download(const protocol::download_message& m,
                                        protocol::version_type acknowledged_before,
                                        protocol::version_type acknowledged) {
  note_remote_commits(m);
  if (!m.changesets.empty())
    record(recorded_kind::download, 0, m.server_version,
           static_cast<std::uint16_t>(std::min<std::size_t>(m.changesets.size(), 0xffff)));
  if (acknowledged <= acknowledged_before) return;
  record(recorded_kind::acknowledged, 0, acknowledged);
  check_backpressure();
  note_acknowledged(acknowledged);
}

namespace {

template <class... Fs>
struct overloaded : Fs... {
  using Fs::operator()...;
};
template <class... Fs>
overloaded(Fs...) -> overloaded<Fs...>;

}  // namespace

void session_actor_state::on_message(const protocol::server_message& message) {
  if (phase != session_phase::binding && phase != session_phase::bound) return;  // stale
  // An answer to an earlier binding (its route outlived a fast pause/resume or rebind) is
  // stale too: only the current binding's ident speaks for this session now.
  if (protocol::session_of(message) != ident) return;
  std::visit(
      overloaded{
          [this](const protocol::server_ident_message& m) {
            if (phase != session_phase::binding) {
              stop(sync_errc::protocol_violation, "IDENT from the server while identified");
              return;
            }
            auto status =
                sync_store().set_client_file_ident(m.client_file_ident, m.file_ident_salt);
            if (!status) {
              stop(from_storage(status.error().code), status.error().message);
              return;
            }
            phase = session_phase::bound;
            fleet_in_error = false;
            record(recorded_kind::ident_received, 0, m.client_file_ident);
            staging_identified();  // during a client reset: when is the copy complete?
            upload_more();
            send_marks();
          },
          [this](const protocol::download_message& m) {
            const auto acknowledged_before = sync_store().metadata().acknowledged_client_version;
            auto status = sync_store().integrate_download(m);
            if (!status) {
              stop(from_storage(status.error().code), status.error().message);
              return;
            }
            if (rebind_backoff) rebind_backoff->reset();
            download_figures_current = true;
            schedule_persist();
            const auto acknowledged = sync_store().metadata().acknowledged_client_version;
            note_download(m, acknowledged_before, acknowledged);
            if (upload_cursor < acknowledged) upload_cursor = acknowledged;
            if (waits)
              complete_waits(waits->registry.upload_acknowledged(acknowledged), wait_outcome{});
            if (waits)
              complete_waits(waits->registry.downloaded_to(m.server_version), wait_outcome{});
            report_progress();
            if (!finish_close_if_done()) upload_more();
          },
          [this](const protocol::server_mark_message& m) {
            record(recorded_kind::mark_received, 0, m.request);
            if (finish_client_reset_at(m.request)) return;
            if (waits) complete_waits(waits->registry.mark_received(m.request), wait_outcome{});
          },
          [this](const protocol::unbound_message&) {
            // Unsolicited: the server ended the session; bind again after a delay.
            session_ended(sync_errc::session_closed, "UNBOUND from the server");
          },
          [this](const protocol::error_message& m) {
            const auto code = from_protocol(static_cast<protocol::error_code>(m.code));
            if (code == sync_errc::client_reset_required && reset_instead_of_stopping(m)) return;
            session_ended(code, m.message);
          },
          [](const protocol::pong_message&) {},  // connection level, handled by the manager
      },
      message);
  publish_fleet();
}

}  // namespace actorsync::runtime

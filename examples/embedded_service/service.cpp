#include "service.hpp"

#include <future>
#include <memory>
#include <stdexcept>
#include <vector>

#include <caf/all.hpp>

#include <actorsync/api/app.hpp>
#include <actorsync/api/realm.hpp>
#include <actorsync/api/session_handle.hpp>

namespace embedded_service {

using namespace actorsync;

namespace {

/// The service's waits end after this at the latest, whatever the realm's settings: without it a
/// wait keeps waiting through a server that never comes back.
constexpr std::chrono::seconds wait_timeout{60};

/// The service's own actor: for each session, subscribe to upload progress, wait for the upload,
/// then for a download round trip; report when every session answered.
caf::behavior coordinator(caf::event_based_actor* self,
                          std::vector<runtime::session_actor> sessions,
                          std::shared_ptr<summary> result,
                          std::shared_ptr<std::promise<void>> done) {
  result->sessions = static_cast<int>(sessions.size());
  auto remaining = std::make_shared<int>(result->sessions);
  auto finish_one = [remaining, done] {
    if (--*remaining == 0) done->set_value();
  };
  for (auto& session : sessions) {
    self->request(
            session, caf::infinite,
            runtime::subscribe_progress{runtime::progress_direction::upload,
                                        runtime::progress_mode::for_currently_outstanding_work,
                                        caf::actor_cast<runtime::progress_subscriber>(self)})
        .then([](runtime::progress_token) {}, [](caf::error&) {});
    self->request(session, caf::infinite, runtime::wait_for_upload{wait_timeout})
        .then(
            [=](runtime::wait_outcome up) {
              if (up) ++result->uploads_ok;
              self->request(session, caf::infinite, runtime::wait_for_download{wait_timeout})
                  .then(
                      [=](runtime::wait_outcome down) {
                        if (down) ++result->downloads_ok;
                        finish_one();
                      },
                      [=](caf::error&) { finish_one(); });
            },
            [=](caf::error&) { finish_one(); });
  }
  return {[result](const runtime::transfer_progress&) { ++result->progress_reports; }};
}

}  // namespace

summary run(const options& opts) {
  api::app_config config;
  config.server_url = opts.server_url;
  config.data_directory = opts.data_directory;
  api::app app(config);
  api::user_credentials user{opts.user_id, opts.token};

  std::vector<std::shared_ptr<api::realm>> realms;
  std::vector<runtime::session_actor> sessions;
  for (int i = 0; i < opts.realm_count; ++i) {
    auto realm = app.open_realm("/service/" + opts.user_id + "/" + std::to_string(i), user);
    for (int w = 0; w < opts.writes_per_realm; ++w) {
      auto committed = realm->begin_write()
                           .create_object("events", std::to_string(w))
                           .set_field("events", std::to_string(w), "n", std::int64_t{w})
                           .commit();
      if (!committed) throw std::runtime_error("local commit failed: " + committed.error().message);
    }
    sessions.push_back(api::handle(realm->session()));
    realms.push_back(std::move(realm));
  }

  auto result = std::make_shared<summary>();
  auto done = std::make_shared<std::promise<void>>();
  auto finished = done->get_future();
  auto actor = api::actor_system(app).spawn(coordinator, sessions, result, done);
  finished.wait();
  caf::anon_send_exit(actor, caf::exit_reason::user_shutdown);
  result->sockets_open = app.statistics().sockets_open;
  return *result;
}

}  // namespace embedded_service

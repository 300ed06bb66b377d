// An app actor talks to session actors directly through the public typed handle and gets typed
// replies, against a real in-process server.
#include <actorsync/api/session_handle.hpp>

#include <gtest/gtest.h>

#include <atomic>

#include <caf/all.hpp>

#include <actorsync/api/realm.hpp>
#include "live_server.hpp"

using namespace actorsync;
using namespace actorsync::testing;
using namespace actorsync::runtime;

namespace {

struct script_result {
  session_state after_pause = session_state::active;
  wait_outcome pending_at_pause;
  session_state after_resume = session_state::paused;
  std::atomic<bool> resumed{false};
  wait_outcome upload;
  wait_outcome download;
  std::vector<transfer_progress> progress;
};

/// The app actor: pause with a wait pending, resume, wait for upload and download, subscribing
/// itself to progress on the way. Every step is a typed request with a typed reply.
caf::behavior driver(caf::event_based_actor* self, session_actor session,
                     std::shared_ptr<script_result> out, std::shared_ptr<std::promise<void>> done) {
  auto fail = [done](caf::error&) { done->set_value(); };
  self->request(session, caf::infinite,
                subscribe_progress{progress_direction::upload, progress_mode::report_indefinitely,
                                   caf::actor_cast<progress_subscriber>(self)})
      .then([](progress_token) {}, [](caf::error&) {});
  self->request(session, caf::infinite, wait_for_upload{std::chrono::seconds(60)})
      .then([out](wait_outcome o) { out->pending_at_pause = o; }, [](caf::error&) {});
  self->request(session, caf::infinite, pause_atom_v)
      .then(
          [=](session_state s) {
            out->after_pause = s;
            self->request(session, caf::infinite, resume_atom_v)
                .then(
                    [=](session_state r) {
                      out->after_resume = r;
                      out->resumed = true;
                      self->request(session, caf::infinite, wait_for_upload{})
                          .then(
                              [=](wait_outcome up) {
                                out->upload = up;
                                self->request(session, caf::infinite, wait_for_download{})
                                    .then(
                                        [=](wait_outcome down) {
                                          out->download = down;
                                          done->set_value();
                                        },
                                        fail);
                              },
                              fail);
                    },
                    fail);
          },
          fail);
  return {[out](const transfer_progress& p) { out->progress.push_back(p); }};
}

}  // namespace

TEST(AppActor, DrivesASessionWithTypedRequestsAndReplies) {
  live_server server;
  client a(server);
  auto r = a.app->open_realm("/driven", user("alice"));
  server.stop();  // keep the first upload wait pending until the pause
  write_object(*r, "x");
  auto out = std::make_shared<script_result>();
  auto done = std::make_shared<std::promise<void>>();
  auto finished = done->get_future();
  auto actor = api::actor_system(*a.app).spawn(driver, api::handle(r->session()), out, done);
  // The driver's pause happens while the server is down; bring it back so resume can sync.
  ASSERT_TRUE(eventually([&] { return out->resumed.load(); }));
  EXPECT_EQ(out->after_resume, session_state::active);
  server.start();
  ASSERT_EQ(finished.wait_for(std::chrono::seconds(120)), std::future_status::ready);
  EXPECT_EQ(out->pending_at_pause.status, wait_status::paused);
  EXPECT_EQ(out->after_pause, session_state::paused);
  EXPECT_TRUE(bool(out->upload));
  EXPECT_TRUE(bool(out->download));
  caf::anon_send_exit(actor, caf::exit_reason::user_shutdown);
}

// The facade's waits travel to the session and back as messages; if the session actor dies
// without answering, the facade must still complete them rather than hang.
TEST(AppActor, FacadeWaitsOnASessionKilledFromOutsideCompleteWithSessionStopped) {
  live_server server;
  client a(server);
  auto r = a.app->open_realm("/killed", user("alice"));
  r->session().pause();   // waits issued while paused stay pending until resume
  write_object(*r, "x");  // something to upload, so the upload wait cannot be true at once
  auto up = r->session().upload_all_local_changes(std::chrono::hours(1));
  auto down = r->session().download_all_server_changes(std::chrono::hours(1));
  caf::anon_send_exit(api::handle(r->session()), caf::exit_reason::kill);
  const auto up_outcome = get(std::move(up));
  const auto down_outcome = get(std::move(down));
  EXPECT_EQ(up_outcome.status, wait_status::error);
  EXPECT_EQ(up_outcome.error, sync_errc::session_stopped);
  EXPECT_EQ(down_outcome.status, wait_status::error);
  EXPECT_EQ(down_outcome.error, sync_errc::session_stopped);
  // Killed without its exit handler, it published nothing; the app marks it inactive.
  EXPECT_TRUE(eventually([&] { return r->session().state() == session_state::inactive; }));
}

// An app may run in the application's own actor system (issue 15): its sessions are actors of
// that system, and the application's actors drive them there.
TEST(AppActor, AnAppRunsInTheApplicationsOwnActorSystem) {
  live_server server;
  temp_dir dir{"host-system"};
  caf::actor_system_config host_config;
  api::add_runtime_types(host_config);
  caf::actor_system host{host_config};
  {
    api::app_config config;
    config.server_url = server.url();
    config.data_directory = dir.path();
    config.durability = storage::durability::process_crash;
    config.linger = std::chrono::milliseconds(0);
    auto app = api::make_app(host, config);
    EXPECT_EQ(&api::actor_system(*app), &host);
    auto r = app->open_realm("/hosted", user("alice"));
    write_object(*r, "x");
    auto session = api::handle(r->session());
    EXPECT_EQ(&session->home_system(), &host);
    caf::scoped_actor self{host};  // an actor of the application's system asks the session
    wait_outcome uploaded{wait_status::error, sync_errc::session_stopped};
    self->request(session, std::chrono::seconds(60), wait_for_upload{std::chrono::seconds(60)})
        .receive([&](wait_outcome o) { uploaded = o; }, [](caf::error&) {});
    EXPECT_TRUE(bool(uploaded));
    r.reset();
  }  // the app goes first; the host system stays usable
  caf::scoped_actor after{host};
  EXPECT_NE(after->id(), 0u);
}

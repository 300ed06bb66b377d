// The session test fixture: CAF's testing scheduler, a real RocksDB realm store in a temporary
// directory, and a scripted link in place of the connection manager.
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <optional>

#include <caf/all.hpp>

#include <actorsync/actors/session_messages.hpp>
#include "actors/session_actor.hpp"
#include "protocol/codec.hpp"
#include "scripted_link.hpp"
#include "tests/support/temp_dir.hpp"

using namespace actorsync::runtime;
using namespace std::chrono_literals;
namespace protocol = actorsync::protocol;
namespace storage = actorsync::storage;
using testing_link = actorsync::testing::link_script;

struct test_config : caf::actor_system_config {
  test_config() {
    set("scheduler.policy", caf::atom("testing"));
    add_message_types<caf::id_block::actorsync_runtime>();
  }
};

class SessionActor : public ::testing::Test {
 protected:
  SessionActor()
      : sys_(cfg_), sched_(dynamic_cast<caf::scheduler::test_coordinator&>(sys_.scheduler())) {
    storage::database_options options;
    options.commit_durability = storage::durability::process_crash;
    db_ = storage::database::open(dir_.path(), options).value();
    store_ = db_->open_realm("/orders").value();
    script_ = std::make_shared<testing_link>();
    link_ = sys_.spawn(actorsync::testing::scripted_link, script_);
    box_ = std::make_shared<actorsync::testing::inbox>();
    observer_ = sys_.spawn(actorsync::testing::collector, box_);
  }

  ~SessionActor() override {
    if (session_) caf::anon_send_exit(session_, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(link_, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(observer_, caf::exit_reason::user_shutdown);
    sched_.run();
    session_ = nullptr;
    impl_ = nullptr;
    store_.reset();
    db_.reset();
  }

  void start(bool cancel_on_nonfatal = false, bool paused = false) {
    auto settings = std::make_shared<session_settings>();
    settings->connection_manager = caf::actor_cast<connection_manager_actor>(link_);
    settings->link_key = "alice";
    settings->token_provider = [calls = token_calls_] {
      ++*calls;
      return std::string("token");
    };
    settings->default_wait_timeout = 10s;
    settings->flight_recorder_events = recorder_events_;
    if (settings_hook_) settings_hook_(*settings);
    settings->ident_source = std::make_shared<std::atomic<std::uint64_t>>(0);
    session_config config;
    config.realm_path = "/orders";
    config.store = store_;
    config.settings = std::move(settings);
    config.status = status_;
    config.start_paused = paused;
    config.cancel_waits_on_nonfatal_error = cancel_on_nonfatal;
    if (config_hook_) config_hook_(config);
    session_ = spawn_session(sys_, config);
    impl_ = caf::actor_cast<session_actor_impl>(session_);
    sched_.run();
  }

  void link(connection_state state) {
    caf::anon_send(impl_, link_event::of(state, 0));
    sched_.run();
  }

  void server(protocol::server_message message) {
    caf::anon_send(
        impl_,
        incoming_message{std::make_shared<const protocol::server_message>(std::move(message))});
    sched_.run();
  }

  /// Connects, binds and lets the server allocate file ident 7.
  void bind_fresh() {
    link(connection_state::connected);
    server(protocol::server_ident_message{last_ident(), 7, 99});
  }

  protocol::session_ident last_ident() const {
    auto binds = script_->all<protocol::bind_message>();
    return binds.empty() ? 0 : binds.back().session;
  }

  protocol::version_type commit(const std::string& id) {
    auto v = store_->begin_write().create_object("items", id).commit();
    sched_.run();
    return v.value();
  }

  /// Sends a request from a helper actor and returns where its reply will appear.
  template <class Reply, class... Ts>
  std::shared_ptr<std::optional<Reply>> ask(Ts... xs) {
    auto out = std::make_shared<std::optional<Reply>>();
    auto target = session_;
    // The reply slot is passed as an argument: CAF 0.17.6 spawns of argument-less function
    // actors bind a null reference (UBSan).
    auto asker = [target, xs...](caf::event_based_actor* self,
                                 std::shared_ptr<std::optional<Reply>> slot) {
      self->request(target, caf::infinite, xs...)
          .then([slot](Reply r) { *slot = r; }, [](caf::error&) {});
    };
    sys_.spawn(asker, out);
    sched_.run();
    return out;
  }

  void acknowledge(protocol::version_type client_version, protocol::version_type server_version) {
    protocol::download_message d;
    d.session = last_ident();
    d.server_version = server_version;
    d.last_integrated_client_version = client_version;
    server(d);
  }

  void written() {
    caf::anon_send(impl_, frame_sent_atom_v);
    sched_.run();
  }

  actorsync::testing::temp_dir dir_{"session"};
  test_config cfg_;
  caf::actor_system sys_;
  caf::scheduler::test_coordinator& sched_;
  std::shared_ptr<storage::database> db_;
  std::shared_ptr<storage::realm_store> store_;
  std::shared_ptr<testing_link> script_;
  std::shared_ptr<actorsync::testing::inbox> box_;
  std::size_t recorder_events_ = tuning::flight_recorder_events;
  std::function<void(session_settings&)> settings_hook_;  ///< runs last in start()
  std::function<void(session_config&)> config_hook_;      ///< likewise
  std::shared_ptr<int> token_calls_ = std::make_shared<int>(0);
  std::shared_ptr<published_status> status_ = std::make_shared<published_status>();
  caf::actor link_;
  caf::actor observer_;
  session_actor session_;
  session_actor_impl impl_;
};

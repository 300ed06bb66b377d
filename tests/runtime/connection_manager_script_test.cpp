// Deterministic tests of the connection manager on CAF's test coordinator: a scripted link
// (connection_manager_config::socket_factory) stands in for the socket, the test plays the I/O
// thread by sending socket_opened / socket_frame / socket_written / socket_failed, and stand-in
// session actors record what the manager tells them. Virtual time drives backoff, linger, connect
// timeout and keepalive. The real-socket tests are in connection_manager_test.cpp.
#include "actors/connection_manager.hpp"

#include <gtest/gtest.h>

#include <memory>
#include <vector>

#include <caf/all.hpp>

#include <actorsync/actors/session_messages.hpp>
#include "protocol/codec.hpp"

using namespace actorsync::runtime;
using namespace std::chrono_literals;
namespace protocol = actorsync::protocol;

namespace {

struct test_config : caf::actor_system_config {
  test_config() {
    set("scheduler.policy", caf::atom("testing"));
    add_message_types<caf::id_block::actorsync_runtime>();
  }
};

/// One connection attempt as the manager made it.
struct scripted_socket : client_websocket {
  socket_target target;
  bool started = false;
  bool retired = false;
  std::vector<protocol::client_message> written;

  explicit scripted_socket(socket_target t) : target(std::move(t)) {}
  void start() override { started = true; }
  void write(std::shared_ptr<const std::vector<std::uint8_t>> frame) override {
    auto decoded = protocol::decode_client_message(*frame);
    if (decoded) written.push_back(decoded.message());
  }

 protected:
  void close_and_release(std::shared_ptr<client_websocket>) override { retired = true; }
};

/// What a stand-in session heard from the manager.
struct session_log {
  std::vector<link_event> events;
  std::vector<protocol::server_message> messages;
};

caf::behavior stand_in_session(caf::event_based_actor* self, std::shared_ptr<session_log> log) {
  self->set_default_handler(caf::drop);
  return {
      [log](const link_event& e) { log->events.push_back(e); },
      [log](const incoming_message& m) { log->messages.push_back(*m.message); },
  };
}

class ConnectionManagerScript : public ::testing::Test {
 protected:
  ConnectionManagerScript()
      : sys_(cfg_), sched_(dynamic_cast<caf::scheduler::test_coordinator&>(sys_.scheduler())) {}

  ~ConnectionManagerScript() override {
    for (auto& s : sessions_) caf::anon_send_exit(s, caf::exit_reason::user_shutdown);
    if (manager_) caf::anon_send_exit(manager_, caf::exit_reason::user_shutdown);
    sched_.run();
  }

  void start(std::chrono::milliseconds linger = 0ms,
             const std::vector<std::string>& urls = {"ws://127.0.0.1:1"},
             std::size_t sessions_per_link = tuning::max_sessions_per_link) {
    connection_manager_config config;
    config.max_sessions_per_link = sessions_per_link;
    for (const auto& url : urls) config.urls.push_back(*parse_server_url(url));
    config.connect_timeout = 15s;
    config.ping_interval = 30s;
    config.pong_timeout = 60s;
    config.linger = linger;
    config.backoff.initial = 1s;
    config.backoff.maximum = 8s;
    config.backoff.max_jitter = 0;  // deterministic delays
    config.release_after_sessions = 0;
    config.socket_factory = [sockets = sockets_](socket_target target) {
      auto socket = std::make_shared<scripted_socket>(std::move(target));
      sockets->push_back(socket);
      return socket;
    };
    // A dynamic handle: the test also plays the I/O thread (connection_manager_impl messages).
    manager_ = caf::actor_cast<caf::actor>(spawn_connection_manager(sys_, std::move(config)));
    sched_.run();
  }

  /// A stand-in session attached under `key`; returns its log.
  std::shared_ptr<session_log> attach(const std::string& key) {
    auto log = std::make_shared<session_log>();
    auto session = sys_.spawn(stand_in_session, log);
    sessions_.push_back(session);
    logs_.push_back(log);
    caf::anon_send(manager_, attach_atom_v, key, std::string("token"), session);
    sched_.run();
    return log;
  }

  /// Session `i` attaches again with `token`, as a session does when the link's token expired.
  void reattach(std::size_t i, const std::string& key, const std::string& token) {
    caf::anon_send(manager_, attach_atom_v, key, token, sessions_[i]);
    sched_.run();
  }

  void detach(std::size_t session) {
    caf::anon_send(manager_, detach_atom_v, sessions_[session]);
    sched_.run();
  }

  scripted_socket& socket(std::size_t i = 0) { return *sockets_->at(i); }
  /// The port of the server connection attempt `i` went to.
  std::string port_of(std::size_t i) { return socket(i).target.url.port; }
  std::size_t socket_count() const { return sockets_->size(); }

  /// Plays the I/O thread of socket `i`.
  template <class Event>
  void io(std::size_t i, Event event) {
    caf::anon_send(manager_, std::move(event));
    sched_.run();
    (void)i;
  }
  void opened(std::size_t i) {
    io(i, socket_opened{socket(i).target.link, socket(i).target.generation});
  }
  void written(std::size_t i) {
    io(i, socket_written{socket(i).target.link, socket(i).target.generation});
  }
  void failed(std::size_t i) {
    io(i, socket_failed{socket(i).target.link, socket(i).target.generation,
                        sync_errc::connection_lost, "reset"});
  }
  void frame_in(std::size_t i, protocol::server_message message) {
    io(i, socket_frame{socket(i).target.link, socket(i).target.generation,
                       std::make_shared<const protocol::server_message>(std::move(message)), 16});
  }

  /// A frame from session `s` with its binding ident.
  void send_from(std::size_t s, protocol::client_message message, protocol::session_ident ident) {
    auto bytes = std::make_shared<std::vector<std::uint8_t>>();
    protocol::encode(message, *bytes);
    caf::anon_send(manager_, outgoing_frame{ident, std::move(bytes), false, sessions_[s]});
    sched_.run();
  }

  void advance(std::chrono::milliseconds d) {
    sched_.advance_time(d);
    sched_.run();
  }

  link_statistics stats() {
    link_statistics out;
    auto asker = [this](caf::event_based_actor* self, link_statistics* slot) {
      self->request(manager_, caf::infinite, stats_atom_v)
          .then([slot](link_statistics s) { *slot = s; }, [](caf::error&) {});
    };
    sys_.spawn(asker, &out);
    sched_.run();
    return out;
  }

  static std::vector<connection_state> states(const session_log& log) {
    std::vector<connection_state> out;
    for (auto& e : log.events) out.push_back(e.state);
    return out;
  }

  test_config cfg_;
  caf::actor_system sys_;
  caf::scheduler::test_coordinator& sched_;
  caf::actor manager_;
  std::shared_ptr<std::vector<std::shared_ptr<scripted_socket>>> sockets_ =
      std::make_shared<std::vector<std::shared_ptr<scripted_socket>>>();
  std::vector<caf::actor> sessions_;
  std::vector<std::shared_ptr<session_log>> logs_;
};

using cs = connection_state;

}  // namespace

TEST_F(ConnectionManagerScript, SessionsOfOneKeyShareOneLinkAndFramesAreRoutedByIdent) {
  start();
  auto a = attach("user:alice");
  auto b = attach("user:alice");
  ASSERT_EQ(socket_count(), 1u);
  EXPECT_TRUE(socket().started);
  opened(0);
  EXPECT_EQ(states(*a), (std::vector<cs>{cs::connecting, cs::connected}));
  EXPECT_EQ(states(*b), (std::vector<cs>{cs::connecting, cs::connected}));
  send_from(0, protocol::bind_message{11, "/a", ""}, 11);
  send_from(1, protocol::bind_message{12, "/b", ""}, 12);
  ASSERT_EQ(socket().written.size(), 1u);  // one write in flight per socket
  written(0);
  ASSERT_EQ(socket().written.size(), 2u);
  frame_in(0, protocol::server_mark_message{12, 5});
  frame_in(0, protocol::server_mark_message{11, 6});
  ASSERT_EQ(a->messages.size(), 1u);
  ASSERT_EQ(b->messages.size(), 1u);
  EXPECT_EQ(std::get<protocol::server_mark_message>(a->messages[0]).request, 6u);
  EXPECT_EQ(std::get<protocol::server_mark_message>(b->messages[0]).request, 5u);
  attach("user:bob");  // another key: another link
  EXPECT_EQ(socket_count(), 2u);
}

TEST_F(ConnectionManagerScript, ALostLinkIsRetriedAfterItsBackoffWithDoublingDelays) {
  start();
  auto a = attach("user:alice");
  opened(0);
  failed(0);
  EXPECT_TRUE(socket(0).retired);
  EXPECT_EQ(states(*a).back(), cs::disconnected);
  EXPECT_TRUE(a->events.back().has_error);
  advance(999ms);
  EXPECT_EQ(socket_count(), 1u);  // the first delay is 1 s
  advance(1ms);
  ASSERT_EQ(socket_count(), 2u);
  failed(1);  // never opened: the delay doubles
  advance(1999ms);
  EXPECT_EQ(socket_count(), 2u);
  advance(1ms);
  ASSERT_EQ(socket_count(), 3u);
  opened(2);
  EXPECT_EQ(states(*a).back(), cs::connected);
  EXPECT_EQ(stats().connects, 3u);
}

TEST_F(ConnectionManagerScript, AnUnansweredConnectEndsWithAConnectTimeout) {
  start();
  auto a = attach("user:alice");
  advance(15s);
  ASSERT_TRUE(a->events.back().has_error);
  EXPECT_EQ(a->events.back().error, sync_errc::connect_timeout);
  EXPECT_TRUE(socket(0).retired);
  advance(1s);
  EXPECT_EQ(socket_count(), 2u);
}

TEST_F(ConnectionManagerScript, ALingeringLinkIsReusedWithinItsLingerAndClosedAfter) {
  start(/*linger=*/30s);
  attach("user:alice");
  opened(0);
  detach(0);
  advance(29s);
  EXPECT_FALSE(socket(0).retired);
  auto later = attach("user:alice");  // within the linger: the same link, already connected
  EXPECT_EQ(socket_count(), 1u);
  EXPECT_EQ(states(*later), (std::vector<cs>{cs::connecting, cs::connected}));
  detach(1);  // at 29 s: lingers until 59 s
  advance(29s);
  EXPECT_FALSE(socket(0).retired);  // the first linger (due at 30 s) was cancelled by the reuse
  written(0);                       // the keepalive PING of 30 s went out
  advance(1s);
  EXPECT_TRUE(socket(0).retired);
  EXPECT_EQ(stats().sockets_open, 0u);
}

TEST_F(ConnectionManagerScript, WithoutLingerTheLinkClosesOnceItsLastFramesAreWritten) {
  start(/*linger=*/0ms);
  attach("user:alice");
  opened(0);
  send_from(0, protocol::unbind_message{11}, 11);
  detach(0);
  EXPECT_FALSE(socket(0).retired);  // the UNBIND is still being written
  written(0);
  EXPECT_TRUE(socket(0).retired);
}

TEST_F(ConnectionManagerScript, ASilentLinkIsDroppedAfterAPingAndItsPongTimeout) {
  start();
  auto a = attach("user:alice");
  opened(0);
  advance(30s);  // ping interval
  ASSERT_EQ(socket().written.size(), 1u);
  EXPECT_TRUE(std::holds_alternative<protocol::ping_message>(socket().written[0]));
  written(0);
  advance(30s);
  EXPECT_FALSE(socket(0).retired);  // 30 s of silence after the PING: not yet
  advance(30s);
  EXPECT_TRUE(socket(0).retired);
  EXPECT_EQ(a->events.back().error, sync_errc::pong_timeout);
}

TEST_F(ConnectionManagerScript, AnyTrafficAfterAPingCountsAsLiveness) {
  start();
  auto a = attach("user:alice");
  opened(0);
  advance(30s);
  written(0);
  frame_in(0, protocol::server_mark_message{99, 1});  // not a PONG, but traffic
  advance(60s);
  EXPECT_FALSE(socket(0).retired);
  EXPECT_EQ(states(*a).back(), cs::connected);
}

TEST_F(ConnectionManagerScript, AfterAnExpiredTokenTheRetryUsesTheFreshTokenASessionGave) {
  start();
  auto a = attach("user:alice");
  auto b = attach("user:alice");
  io(0, socket_failed{socket(0).target.link, socket(0).target.generation, sync_errc::token_expired,
                      "401 token_expired"});
  // One session is asked for a fresh token, not every session of the link.
  EXPECT_NE(a->events.back().give_fresh_token, b->events.back().give_fresh_token);
  reattach(0, "user:alice", "fresh");
  advance(1s);
  ASSERT_EQ(socket_count(), 2u);
  EXPECT_EQ(socket(1).target.token, "fresh");
  EXPECT_EQ(socket(0).target.token, "token");
}

TEST_F(ConnectionManagerScript, AFailedConnectMovesTheLinkToTheNextServerRoundRobin) {
  start(0ms, {"ws://127.0.0.1:1", "ws://127.0.0.1:2", "ws://127.0.0.1:3"});
  auto a = attach("user:alice");
  ASSERT_EQ(socket_count(), 1u);
  EXPECT_EQ(port_of(0), "1");  // every link starts at the first server
  failed(0);
  advance(1s);
  ASSERT_EQ(socket_count(), 2u);
  EXPECT_EQ(port_of(1), "2");
  failed(1);
  // Another server does not reset the backoff: the delay doubled as with one server.
  advance(1999ms);
  EXPECT_EQ(socket_count(), 2u);
  advance(1ms);
  ASSERT_EQ(socket_count(), 3u);
  EXPECT_EQ(port_of(2), "3");
  advance(15s);  // an unanswered connect (timeout) moves on too
  EXPECT_EQ(a->events.back().error, sync_errc::connect_timeout);
  advance(4s);
  ASSERT_EQ(socket_count(), 4u);
  EXPECT_EQ(port_of(3), "1");  // after the last, the first again
  opened(3);
  EXPECT_EQ(states(*a).back(), cs::connected);
  auto s = stats();
  EXPECT_EQ(s.connects_per_server, (std::vector<std::uint64_t>{2, 1, 1}));
  EXPECT_EQ(s.links_connected_per_server, (std::vector<std::uint64_t>{1, 0, 0}));
}

TEST_F(ConnectionManagerScript, ALostLinkMovesWithAllItsSessionsToTheNextServerAndTheyBindThere) {
  start(0ms, {"ws://127.0.0.1:1", "ws://127.0.0.1:2"});
  auto a = attach("user:alice");
  auto b = attach("user:alice");
  ASSERT_EQ(socket_count(), 1u);  // one link per user, to one server at a time
  opened(0);
  send_from(0, protocol::bind_message{11, "/a", ""}, 11);
  written(0);
  EXPECT_EQ(stats().links_connected_per_server, (std::vector<std::uint64_t>{1, 0}));
  failed(0);
  EXPECT_EQ(states(*a).back(), cs::disconnected);
  EXPECT_EQ(states(*b).back(), cs::disconnected);
  EXPECT_EQ(stats().links_connected_per_server, (std::vector<std::uint64_t>{0, 0}));
  advance(1s);
  ASSERT_EQ(socket_count(), 2u);
  EXPECT_EQ(port_of(1), "2");
  opened(1);
  EXPECT_EQ(states(*a).back(), cs::connected);
  EXPECT_EQ(states(*b).back(), cs::connected);
  EXPECT_EQ(stats().links_connected_per_server, (std::vector<std::uint64_t>{0, 1}));
  // The sessions bind again with fresh idents on the new link; frames route by the new ones.
  send_from(0, protocol::bind_message{21, "/a", ""}, 21);
  send_from(1, protocol::bind_message{22, "/b", ""}, 22);
  written(1);
  ASSERT_EQ(socket(1).written.size(), 2u);
  frame_in(1, protocol::server_mark_message{22, 7});
  ASSERT_EQ(b->messages.size(), 1u);
  EXPECT_EQ(std::get<protocol::server_mark_message>(b->messages[0]).request, 7u);
  EXPECT_TRUE(a->messages.empty());
}

TEST_F(ConnectionManagerScript, AHealthyConnectionResetsTheBackoffWhicheverServerItWasOn) {
  start(0ms, {"ws://127.0.0.1:1", "ws://127.0.0.1:2"});
  auto a = attach("user:alice");
  failed(0);
  advance(1s);
  failed(1);  // the next delay is 2 s
  advance(2s);
  ASSERT_EQ(socket_count(), 3u);
  EXPECT_EQ(port_of(2), "1");
  opened(2);
  advance(10s);  // up for healthy_after (10 s)
  failed(2);
  advance(999ms);
  EXPECT_EQ(socket_count(), 3u);
  advance(1ms);  // back to the initial 1 s
  ASSERT_EQ(socket_count(), 4u);
  EXPECT_EQ(port_of(3), "2");
  EXPECT_EQ(states(*a).back(), cs::connecting);
}

TEST_F(ConnectionManagerScript, AFullLinkMakesTheNextSessionOfItsKeyOpenAnother) {
  start(0ms, {"ws://127.0.0.1:1"}, 2);
  attach("user:alice");
  attach("user:alice");
  ASSERT_EQ(socket_count(), 1u);
  auto third = attach("user:alice");  // the first link holds 2: a second to the same endpoint
  ASSERT_EQ(socket_count(), 2u);
  EXPECT_EQ(socket(1).target.url.port, socket(0).target.url.port);
  reattach(0, "user:alice", "fresh");  // a known session giving a token opens nothing
  EXPECT_EQ(socket_count(), 2u);
  opened(0);
  opened(1);
  EXPECT_EQ(states(*third), (std::vector<cs>{cs::connecting, cs::connected}));
  send_from(2, protocol::bind_message{13, "/c", ""}, 13);
  EXPECT_TRUE(socket(0).written.empty());
  ASSERT_EQ(socket(1).written.size(), 1u);  // the third session's frames go on its own link
  EXPECT_EQ(stats().sockets_open, 2u);
}

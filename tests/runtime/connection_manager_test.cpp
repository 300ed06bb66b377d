// The connection manager's failure handling over real loopback sockets, with scripted peers that
// misbehave on purpose (a server that never answers the upgrade, one that refuses it with 401,
// a port nobody listens on). Driven through the api facade.
#include "actors/connection_manager.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <thread>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/write.hpp>

#include <actorsync/api/app.hpp>
#include <actorsync/api/realm.hpp>
#include "tests/support/eventually.hpp"
#include "tests/support/temp_dir.hpp"

using namespace actorsync;
using namespace std::chrono_literals;
using boost::asio::ip::tcp;

namespace {

/// Accepts connections on 127.0.0.1; for each, optionally answers the HTTP upgrade with a fixed
/// response, then holds the socket open until stopped.
class scripted_peer {
 public:
  explicit scripted_peer(std::string response = {})
      : acceptor_(io_, tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), 0)),
        response_(std::move(response)) {
    thread_ = std::thread([this] { serve(); });
  }
  ~scripted_peer() {
    stopping_ = true;
    boost::system::error_code ignored;
    // Wake a blocking accept with a connection of our own.
    tcp::socket waker(io_);
    waker.connect(acceptor_.local_endpoint(), ignored);
    thread_.join();
  }
  std::uint16_t port() const { return acceptor_.local_endpoint().port(); }
  int accepted() const { return accepted_.load(); }

 private:
  void serve() {
    while (!stopping_) {
      tcp::socket socket(io_);
      boost::system::error_code ec;
      acceptor_.accept(socket, ec);
      if (ec || stopping_) break;
      ++accepted_;
      if (!response_.empty()) {
        boost::asio::streambuf request;
        boost::asio::read_until(socket, request, "\r\n\r\n", ec);
        boost::asio::write(socket, boost::asio::buffer(response_), ec);
      }
      held_.push_back(std::move(socket));
    }
  }

  boost::asio::io_context io_;
  tcp::acceptor acceptor_;
  std::string response_;
  std::vector<tcp::socket> held_;
  std::atomic<bool> stopping_{false};
  std::atomic<int> accepted_{0};
  std::thread thread_;
};

std::uint16_t unused_port() {
  boost::asio::io_context io;
  tcp::acceptor a(io, tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), 0));
  return a.local_endpoint().port();  // closed when `a` goes: nobody listens there afterwards
}

struct client_app {
  actorsync::testing::temp_dir dir{"cm"};
  std::unique_ptr<api::app> app;  // declared after dir: closed before dir is removed
  client_app(std::uint16_t port, const std::function<void(api::app_config&)>& tweak) {
    api::app_config c;
    c.server_url = "ws://127.0.0.1:" + std::to_string(port);
    c.data_directory = dir.path() / "app";
    c.durability = storage::durability::process_crash;
    tweak(c);
    app = std::make_unique<api::app>(c);
  }
};

/// These tests watch errors reach waits: their realms cancel waits on non-fatal errors.
const api::realm_config cancelling = [] {
  api::realm_config c;
  c.cancel_waits_on_nonfatal_error = true;
  return c;
}();

runtime::wait_outcome upload_wait(api::realm& r) {
  if (!r.begin_write().create_object("items", "x").commit()) return {runtime::wait_status::error};
  auto f = r.session().upload_all_local_changes();
  if (f.wait_for(60s) != std::future_status::ready) return {runtime::wait_status::timed_out};
  return f.get();
}

}  // namespace

TEST(ConnectionManager, AnUnansweredUpgradeEndsWithAConnectTimeoutAndIsRetried) {
  scripted_peer silent;
  client_app c(silent.port(), [](api::app_config& cfg) {
    cfg.connect_timeout = 200ms;
    cfg.backoff.initial = 10ms;
    cfg.backoff.maximum = 20ms;
  });
  auto r = c.app->open_realm("/t", {"alice", "token"}, cancelling);
  auto outcome = upload_wait(*r);
  EXPECT_EQ(outcome.status, runtime::wait_status::error);
  EXPECT_EQ(outcome.error, runtime::sync_errc::connect_timeout);
  // Retried with backoff, so more connections arrive.
  actorsync::testing::eventually([&] { return silent.accepted() >= 2; });
  EXPECT_GE(silent.accepted(), 2);
}

TEST(ConnectionManager, ARefusedUpgradeIsAFatalAuthenticationError) {
  scripted_peer refusing("HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\n\r\n");
  client_app c(refusing.port(), [](api::app_config&) {});
  // Waits not cancelled by non-fatal errors: a fatal one completes them regardless.
  auto r = c.app->open_realm("/t", {"alice", "bad-token"});
  auto outcome = upload_wait(*r);
  EXPECT_EQ(outcome.status, runtime::wait_status::error);
  EXPECT_EQ(outcome.error, runtime::sync_errc::bad_authentication);
  EXPECT_EQ(r->session().state(), runtime::session_state::inactive);
}

TEST(ConnectionManager, ReconnectSkipsAPendingBackoffDelay) {
  client_app c(unused_port(), [](api::app_config& cfg) {
    cfg.backoff.initial = std::chrono::hours(1);  // without reconnect() no second attempt
    cfg.backoff.maximum = std::chrono::hours(1);
  });
  auto r = c.app->open_realm("/t", {"alice", "token"}, cancelling);
  // The first attempt is refused; the next one is an hour away.
  ASSERT_TRUE(actorsync::testing::eventually([&] {
    return c.app->statistics().connects == 1 &&
           r->session().connection_state() == runtime::connection_state::disconnected;
  }));
  r->session().reconnect();
  EXPECT_TRUE(actorsync::testing::eventually([&] { return c.app->statistics().connects == 2; }));
}

TEST(ConnectionManager, FreeMemoryIsReleasedOnceABurstOfSessionsIsOver) {
  scripted_peer silent;  // no traffic at all: the burst is over as soon as the sessions attached
  client_app c(silent.port(), [](api::app_config& cfg) { cfg.release_memory_after_sessions = 20; });
  std::vector<std::shared_ptr<api::realm>> realms;
  for (int i = 0; i < 20; ++i)
    realms.push_back(c.app->open_realm("/burst/" + std::to_string(i), {"alice", "token"}));
  actorsync::testing::eventually([&] { return c.app->statistics().memory_releases != 0; });
  EXPECT_EQ(c.app->statistics().memory_releases, 1u);
}

#include "tests/support/fault_proxy.hpp"

#include <gtest/gtest.h>

#include "tests/support/eventually.hpp"

// Boost 1.74 asio uses std::exchange without including <utility>: include it before asio.
#include <utility>

#include <boost/asio.hpp>

#include <atomic>
#include <list>
#include <string>
#include <thread>

namespace actorsync::testing {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

// A blocking echo server on 127.0.0.1, one thread per connection. Every connection's socket and
// thread belong to the server and are ended in its destructor: a socket must not outlive the
// io_context it was made from (a detached thread closing its socket after ~echo_server freed
// the reactor corrupted the heap: the "double free detected" abort in RELIABILITY.md).
class echo_server {
 public:
  echo_server() : acceptor_(io_, tcp::endpoint(asio::ip::address_v4::loopback(), 0)) {
    thread_ = std::thread([this] { serve(); });
  }
  ~echo_server() {
    // Unblock accept() with a connection of our own, then let serve() see the flag.
    stopping_ = true;
    boost::system::error_code ignored;
    tcp::socket poke(io_);
    poke.connect(tcp::endpoint(asio::ip::address_v4::loopback(), port_), ignored);
    thread_.join();
    // No new connections now. shutdown() wakes each blocked read_some (it is only a syscall on
    // the descriptor, which stays open until the socket is destroyed below, after the join).
    for (auto& c : connections_) {
      c.socket.shutdown(tcp::socket::shutdown_both, ignored);
      c.thread.join();
    }
  }
  std::uint16_t port() const { return port_; }

 private:
  struct connection {
    explicit connection(tcp::socket s) : socket(std::move(s)) {}
    tcp::socket socket;
    std::thread thread;
  };

  void serve() {
    for (;;) {
      tcp::socket socket(io_);
      boost::system::error_code ec;
      acceptor_.accept(socket, ec);
      if (ec || stopping_) return;
      // Only this thread adds connections and the destructor reads them after joining it.
      auto& c = connections_.emplace_back(std::move(socket));
      c.thread = std::thread([&s = c.socket] { echo(s); });
    }
  }
  static void echo(tcp::socket& s) {
    char data[4096];
    boost::system::error_code e;
    for (;;) {
      auto n = s.read_some(asio::buffer(data), e);
      if (e) return;
      asio::write(s, asio::buffer(data, n), e);
      if (e) return;
    }
  }
  asio::io_context io_;
  tcp::acceptor acceptor_;
  std::uint16_t port_ = acceptor_.local_endpoint().port();
  std::atomic<bool> stopping_{false};
  std::list<connection> connections_;  // destroyed before io_; list nodes never move
  std::thread thread_;
};

tcp::socket connect_to(asio::io_context& io, std::uint16_t port) {
  tcp::socket s(io);
  s.connect(tcp::endpoint(asio::ip::address_v4::loopback(), port));
  return s;
}

std::string round_trip(tcp::socket& s, const std::string& text) {
  asio::write(s, asio::buffer(text));
  std::string back(text.size(), '\0');
  asio::read(s, asio::buffer(back));
  return back;
}

TEST(FaultProxy, ForwardsBytesBothWaysEvenWhenSplitIntoOneByteSegments) {
  echo_server server;
  fault_proxy proxy(server.port());
  proxy.set_max_segment(1);
  asio::io_context io;
  auto s = connect_to(io, proxy.port());
  const std::string text(3000, 'x');
  EXPECT_EQ(round_trip(s, text), text);
  // The counters move when a write completes, which may be after the peer read the bytes.
  EXPECT_TRUE(eventually([&] { return proxy.forwarded_bytes(flow::to_server) == text.size(); }));
  EXPECT_TRUE(eventually([&] { return proxy.forwarded_bytes(flow::to_client) == text.size(); }));
}

TEST(FaultProxy, CutDropsLiveConnectionsAndNewOnesStillWork) {
  echo_server server;
  fault_proxy proxy(server.port());
  asio::io_context io;
  auto s = connect_to(io, proxy.port());
  EXPECT_EQ(round_trip(s, "ping"), "ping");
  proxy.cut_all();
  char byte;
  boost::system::error_code ec;
  asio::read(s, asio::buffer(&byte, 1), ec);
  EXPECT_TRUE(ec) << "the cut connection must fail";
  auto again = connect_to(io, proxy.port());
  EXPECT_EQ(round_trip(again, "pong"), "pong");
}

TEST(FaultProxy, StalledBytesArriveAfterTheStallEnds) {
  echo_server server;
  fault_proxy proxy(server.port());
  asio::io_context io;
  auto s = connect_to(io, proxy.port());
  EXPECT_EQ(round_trip(s, "warm"), "warm");
  proxy.set_stalled(true);
  asio::write(s, asio::buffer(std::string("held")));
  std::thread release([&proxy] { proxy.set_stalled(false); });
  std::string back(4, '\0');
  asio::read(s, asio::buffer(back));
  release.join();
  EXPECT_EQ(back, "held");
}

TEST(FaultProxy, ThrottledAndDelayedTrafficIsIntact) {
  echo_server server;
  fault_proxy proxy(server.port());
  proxy.set_throttle(flow::to_client, 1 << 20);
  proxy.set_delay(std::chrono::milliseconds(1));
  asio::io_context io;
  auto s = connect_to(io, proxy.port());
  std::string text(20000, '\0');
  for (std::size_t i = 0; i < text.size(); ++i) text[i] = static_cast<char>('a' + i % 26);
  EXPECT_EQ(round_trip(s, text), text);
}

TEST(FaultProxy, RefusingClosesNewConnections) {
  echo_server server;
  fault_proxy proxy(server.port());
  proxy.set_refusing(true);
  asio::io_context io;
  auto s = connect_to(io, proxy.port());
  char byte;
  boost::system::error_code ec;
  asio::read(s, asio::buffer(&byte, 1), ec);
  EXPECT_TRUE(ec);
  EXPECT_EQ(proxy.accepted_connections(), 1u);
}

TEST(FaultProxy, RefuseNextRefusesThatManyConnectionsThenForwards) {
  echo_server server;
  fault_proxy proxy(server.port());
  proxy.refuse_next(2);
  asio::io_context io;
  for (int i = 0; i < 2; ++i) {
    auto s = connect_to(io, proxy.port());
    char byte;
    boost::system::error_code ec;
    asio::read(s, asio::buffer(&byte, 1), ec);
    EXPECT_TRUE(ec) << "connection " << i;
  }
  auto third = connect_to(io, proxy.port());
  EXPECT_EQ(round_trip(third, "healed"), "healed");
  EXPECT_EQ(proxy.accepted_connections(), 3u);
  EXPECT_EQ(proxy.refused_connections(), 2u);
}

}  // namespace
}  // namespace actorsync::testing

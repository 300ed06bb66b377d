// Test support: loopback ports and URLs for tests that need a server list.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <cstdint>
#include <string>

namespace actorsync::testing {

/// A port on 127.0.0.1 that refuses connections for as long as this object lives. A socket
/// stays bound to it without listening (and without SO_REUSEADDR), so no other process, such as
/// a server of a test running in parallel, can take the port meanwhile; a port that was only
/// bound and released could be.
class refusing_port {
 public:
  refusing_port() : socket_(io_) {
    socket_.open(boost::asio::ip::tcp::v4());
    socket_.bind({boost::asio::ip::make_address("127.0.0.1"), 0});
  }
  std::uint16_t port() const { return socket_.local_endpoint().port(); }

 private:
  boost::asio::io_context io_;
  boost::asio::ip::tcp::socket socket_;
};

inline std::string ws_url(std::uint16_t port) {
  return "ws://127.0.0.1:" + std::to_string(port);
}

}  // namespace actorsync::testing

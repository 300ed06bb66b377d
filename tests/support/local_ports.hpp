// Test support: loopback ports and URLs for tests that need a server list.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <cstdint>
#include <string>

namespace actorsync::testing {

/// A port on 127.0.0.1 that nobody listens on (the acceptor closes when it goes).
inline std::uint16_t refused_port() {
  boost::asio::io_context io;
  boost::asio::ip::tcp::acceptor acceptor(io, {boost::asio::ip::make_address("127.0.0.1"), 0});
  return acceptor.local_endpoint().port();
}

inline std::string ws_url(std::uint16_t port) {
  return "ws://127.0.0.1:" + std::to_string(port);
}

}  // namespace actorsync::testing

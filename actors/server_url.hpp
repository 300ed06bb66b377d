// The sync server's address: ws://host[:port][/path] or wss://host[:port][/path], and the order
// in which a link tries an app's servers. Pure logic.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace actorsync::runtime {

struct server_url {
  bool tls = false;
  std::string host;
  std::string port;                 ///< "80" / "443" when the URL names none
  std::string target = "/";         ///< the HTTP request target of the upgrade
  std::string host_header() const;  ///< host[:port] as sent in the Host header
  std::string text() const;         ///< the URL again, for logs (a default port left out)
};

/// Parses a ws:// or wss:// URL; nullopt when it is not one (bad scheme, empty host, bad port).
std::optional<server_url> parse_server_url(std::string_view url);

/// An app's servers are tried in list order: a link starts at position 0 and, after each
/// failed or lost connection, retries at the position this returns (the next entry; after the
/// last, the first again). With one server it is always 0. `count` is at least 1.
constexpr std::size_t next_server(std::size_t position, std::size_t count) {
  return count == 0 ? 0 : (position + 1) % count;
}

}  // namespace actorsync::runtime

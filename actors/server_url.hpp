// The sync server's address: ws://host[:port][/path] or wss://host[:port][/path]. Pure parsing.
#pragma once

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
};

/// Parses a ws:// or wss:// URL; nullopt when it is not one (bad scheme, empty host, bad port).
std::optional<server_url> parse_server_url(std::string_view url);

}  // namespace actorsync::runtime

#include "actors/server_url.hpp"

#include <algorithm>
#include <cctype>

namespace actorsync::runtime {

std::string server_url::host_header() const {
  bool default_port = (tls && port == "443") || (!tls && port == "80");
  std::string h = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  return default_port ? h : h + ":" + port;
}

std::string server_url::text() const {
  return (tls ? "wss://" : "ws://") + host_header() + target;
}

std::optional<server_url> parse_server_url(std::string_view url) {
  server_url out;
  if (url.starts_with("wss://")) {
    out.tls = true;
    url.remove_prefix(6);
  } else if (url.starts_with("ws://")) {
    url.remove_prefix(5);
  } else {
    return std::nullopt;
  }
  auto slash = url.find('/');
  std::string_view authority = url.substr(0, slash);
  if (slash != std::string_view::npos) out.target = std::string(url.substr(slash));
  std::string_view port;
  if (authority.starts_with("[")) {  // IPv6 literal
    auto close = authority.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    out.host = std::string(authority.substr(1, close - 1));
    auto rest = authority.substr(close + 1);
    if (!rest.empty()) {
      if (rest[0] != ':') return std::nullopt;
      port = rest.substr(1);
    }
  } else {
    auto colon = authority.rfind(':');
    out.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) port = authority.substr(colon + 1);
  }
  if (out.host.empty()) return std::nullopt;
  if (port.empty() && authority.find(':') != std::string_view::npos && !authority.starts_with("["))
    return std::nullopt;
  if (!port.empty()) {
    if (port.size() > 5 || !std::all_of(port.begin(), port.end(), [](char c) {
          return std::isdigit(static_cast<unsigned char>(c));
        }))
      return std::nullopt;
    int number = std::stoi(std::string(port));
    if (number < 1 || number > 65535) return std::nullopt;
    out.port = std::string(port);
  } else {
    out.port = out.tls ? "443" : "80";
  }
  return out;
}

}  // namespace actorsync::runtime

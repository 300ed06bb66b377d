// Internal. The client runtime's metrics in Prometheus text format 0.0.4: the fleet's figures,
// the connection manager's counters and the latency histograms (names: docs/sessions.md,
// "Client metrics"); and the optional HTTP endpoint that serves them.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <actorsync/actors/session_messages.hpp>
#include "actors/fleet_counters.hpp"

namespace actorsync::api {

std::string render_client_metrics(const runtime::fleet_status& fleet,
                                  const runtime::fleet_counters& counters,
                                  const runtime::link_statistics& links,
                                  const std::vector<std::string>& server_urls);

/// GET /metrics on address:port, answered by `render` on the endpoint's own thread (so a slow
/// scraper never touches the runtime's threads); each exchange must finish within 5 s each way.
/// Throws std::runtime_error naming the address when it cannot listen.
class metrics_endpoint {
 public:
  metrics_endpoint(const std::string& address, std::uint16_t port,
                   std::function<std::string()> render);
  ~metrics_endpoint();
  metrics_endpoint(const metrics_endpoint&) = delete;
  metrics_endpoint& operator=(const metrics_endpoint&) = delete;
  std::uint16_t port() const { return port_; }

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
  std::uint16_t port_ = 0;
  std::thread thread_;
};

}  // namespace actorsync::api

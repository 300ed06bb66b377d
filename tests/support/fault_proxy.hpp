// A TCP proxy on 127.0.0.1 between clients and a server, for fault tests: it can cut every
// connection, stall traffic, delay it, split it into small TCP segments and throttle one
// direction. Runs its own Asio thread; every method is thread-safe.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>

namespace actorsync::testing {

enum class flow { to_server, to_client };

class fault_proxy {
 public:
  /// Listens on 127.0.0.1 (ephemeral port) and forwards to 127.0.0.1:upstream_port.
  explicit fault_proxy(std::uint16_t upstream_port);
  ~fault_proxy();
  fault_proxy(const fault_proxy&) = delete;
  fault_proxy& operator=(const fault_proxy&) = delete;

  std::uint16_t port() const;

  /// Resets every live connection (both sides see the connection drop).
  void cut_all();
  /// While stalled, bytes are held in both directions (connections stay open).
  void set_stalled(bool stalled);
  /// Holds the bytes of one direction only (e.g. replies never reach the client).
  void set_stalled(flow direction, bool stalled);
  /// Every chunk waits this long before it is forwarded.
  void set_delay(std::chrono::milliseconds delay);
  /// Forwards in writes of at most this many bytes (0: as read), with Nagle off, so frames
  /// arrive split across TCP segments.
  void set_max_segment(std::size_t bytes);
  /// Limits one direction to about this rate (0: unlimited).
  void set_throttle(flow direction, std::size_t bytes_per_second);
  /// Refuses (closes at once) new connections while set.
  void set_refusing(bool refusing);
  /// Refuses the next `count` new connections, then forwards again: an outage that ends after a
  /// number of attempts rather than after a time (replaces a count not used up yet).
  void refuse_next(std::uint64_t count);
  /// Points new connections at another upstream port (e.g. a restarted server).
  void set_upstream_port(std::uint16_t port);

  std::size_t live_connections() const;
  /// Every connection accepted, refused ones included.
  std::uint64_t accepted_connections() const;
  /// The accepted connections that were refused (closed at once).
  std::uint64_t refused_connections() const;
  std::uint64_t forwarded_bytes(flow direction) const;

 private:
  struct impl;
  std::shared_ptr<impl> impl_;
};

}  // namespace actorsync::testing

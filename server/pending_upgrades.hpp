// Internal. The sockets accepted and not yet upgraded (TLS handshake and HTTP upgrade still to
// come), oldest first, bounded: when a new one would pass the limit, the oldest is dropped. A
// peer that opens connections and never upgrades thereby cannot hold every slot (and every file
// descriptor) until the upgrade timeout; a client that upgrades takes milliseconds and is never
// the oldest for long. Thread-safe; no Asio: the drop action is a callback.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>

namespace actorsync::server {

class pending_upgrades {
 public:
  /// Called once, outside the lock; must only post work to the socket's strand.
  using drop_action = std::function<void()>;

  explicit pending_upgrades(std::size_t limit) : limit_(limit) {}

  /// A socket was accepted; returns its ticket. Drops the oldest pending socket first when the
  /// limit is reached.
  std::uint64_t add(drop_action drop);
  /// The socket upgraded or is gone (idempotent).
  void remove(std::uint64_t ticket);

  std::size_t limit() const { return limit_; }
  std::size_t size() const;
  /// Sockets dropped to make room for newer ones.
  std::uint64_t dropped() const { return dropped_.load(); }

 private:
  const std::size_t limit_;
  mutable std::mutex mutex_;
  std::map<std::uint64_t, drop_action> pending_;  ///< by ticket: oldest first
  std::uint64_t next_ticket_ = 1;
  std::atomic<std::uint64_t> dropped_{0};
};

/// How many sockets this process may hold for clients: its descriptor limit (RLIMIT_NOFILE)
/// less `reserve`; 0 when the limit leaves none. Unlimited descriptors: SIZE_MAX.
std::size_t socket_capacity(std::size_t reserve);

}  // namespace actorsync::server

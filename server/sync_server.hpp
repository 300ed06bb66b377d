// The embeddable sync server: start it with options, get the bound ports, stop it. No CAF,
// Beast or RocksDB types in this header; the server runs its own CAF actor system and Asio
// threads inside, so it can share a process with the client runtime (the load tester does).
#pragma once

#include <memory>
#include <stdexcept>
#include <string>

#include <actorsync/server/server_metrics.hpp>
#include <actorsync/server/server_options.hpp>

namespace actorsync::server {

/// start() cannot use the data directory: its disk is below the free-space reserve, or its
/// data is damaged (the message names the file and what to do). actorsync-server exits with a
/// status of its own for each (docs/server.md, "Exit statuses").
class data_directory_error : public std::runtime_error {
 public:
  enum class cause { disk_full, damaged };
  data_directory_error(cause why, const std::string& message)
      : std::runtime_error(message), why_(why) {}
  cause why() const { return why_; }

 private:
  cause why_;
};

class sync_server {
 public:
  sync_server();
  ~sync_server();  ///< stop()s if still running
  sync_server(const sync_server&) = delete;
  sync_server& operator=(const sync_server&) = delete;

  /// Opens the history store, starts the actors and binds the listeners. Throws
  /// std::runtime_error whose message starts with the offending option ("wss.port: ..."), or
  /// data_directory_error (a full disk, damaged data).
  /// Can be called again after stop().
  bound_ports start(const server_options& options);

  /// Graceful stop: stop accepting and reading, finish in-flight integrations (their
  /// acknowledgements are sent), send ERROR going_away and close every WebSocket with 1001,
  /// then release the store. Bounded by options.shutdown_timeout per step. Idempotent.
  void stop();

  bool running() const;
  bound_ports ports() const;
  /// Live counters; valid for the lifetime of this object, across restarts.
  const server_metrics& metrics() const;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace actorsync::server

// The load tester's own sync server: actorsync-server started as a child process on
// 127.0.0.1 with ephemeral ports, a fresh data directory and a random token secret, so its
// memory can be measured apart from the client's. Stopped (SIGTERM, then SIGKILL) on
// destruction.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <string>

namespace actorsync::load {

struct embedded_server_options {
  std::filesystem::path binary;          ///< the actorsync-server executable
  std::filesystem::path data_directory;  ///< created if missing
  std::string token_secret;              ///< passed through the environment, never argv
  std::size_t max_sessions_per_connection = 1'000'000;
  bool durable = true;
  bool tls = false;
  std::string tls_certificate_file;
  std::string tls_private_key_file;
};

class embedded_server {
 public:
  /// Starts the child and waits for its "ready" line. Throws std::runtime_error with the
  /// child's own message when it does not start.
  explicit embedded_server(const embedded_server_options& options);
  ~embedded_server();
  embedded_server(const embedded_server&) = delete;
  embedded_server& operator=(const embedded_server&) = delete;

  pid_t pid() const { return pid_; }
  std::uint16_t ws_port() const { return ws_port_; }
  std::uint16_t wss_port() const { return wss_port_; }
  std::uint16_t metrics_port() const { return metrics_port_; }
  /// Graceful stop; returns the child's exit status (0 when it shut down cleanly).
  int stop();

 private:
  void close_pipe();
  pid_t pid_ = -1;
  std::FILE* stdout_pipe_ = nullptr;
  std::uint16_t ws_port_ = 0;
  std::uint16_t wss_port_ = 0;
  std::uint16_t metrics_port_ = 0;
};

/// Locates actorsync-server: the path given, else the build-time location, else next to
/// the running executable.
std::filesystem::path find_server_binary(const std::string& given);

}  // namespace actorsync::load

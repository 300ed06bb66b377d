// The actorsync-server binary as a child process for crash tests: started on an ephemeral port
// (it prints its ready line once listening), killed with any signal, restarted on the same data
// directory. Not thread-safe; one owner.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace actorsync::testing {

class server_process {
 public:
  /// Starts at once; blocks until the ready line (throws if the server exits first). An empty
  /// secret_file leaves the server to read ACTORSYNC_TOKEN_SECRET.
  server_process(std::filesystem::path binary, std::filesystem::path data_directory,
                 std::filesystem::path secret_file, std::vector<std::string> extra_args = {});
  ~server_process();  ///< SIGKILLs a running server
  server_process(const server_process&) = delete;
  server_process& operator=(const server_process&) = delete;

  /// Starts again (after kill()) on the same data directory; blocks until ready.
  void start();
  /// Sends `signal` and reaps the child; returns its wait status.
  int kill(int signal);
  bool running() const { return pid_ > 0; }
  pid_t pid() const { return pid_; }
  std::uint16_t ws_port() const { return ws_port_; }
  std::uint16_t metrics_port() const { return metrics_port_; }
  /// Everything the server wrote (stdout and stderr) across all its starts.
  std::string output() const;

 private:
  std::filesystem::path binary_, data_, secret_;
  std::vector<std::string> extra_;
  std::filesystem::path log_file_;
  pid_t pid_ = -1;
  std::uint16_t ws_port_ = 0, metrics_port_ = 0;
};

}  // namespace actorsync::testing

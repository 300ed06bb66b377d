// actorsync-server as a child process, for the load tool, bench_sessions and the tests that
// need the real binary (fault, cluster, security, server): started on 127.0.0.1 with ephemeral
// ports, ready once it printed its ready line ("actorsync-server ready ws=N wss=N metrics=N"),
// stopped gracefully (SIGTERM) or killed with any signal, restartable on the same data
// directory. Nothing but stdin, stdout and stderr crosses the exec. Not thread-safe; one owner.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace actorsync::tools {

/// Where the child's stdout and stderr go.
enum class server_output {
  /// Both appended to `<data directory>.log` across restarts (output() reads it): nothing the
  /// server writes can block it or get lost.
  log_file,
  /// stdout is a pipe read up to the ready line and then held open unread (as a parent that only
  /// wants the ports); stderr is inherited, so a user sees the server's messages.
  stdout_pipe,
};

struct server_process_options {
  std::filesystem::path binary;          ///< the actorsync-server executable
  std::filesystem::path data_directory;  ///< --data-dir; created if missing
  /// The token secret, never on the command line: a file (--secret-file), or the bytes passed
  /// through the child's environment (ACTORSYNC_TOKEN_SECRET). Both empty: the child inherits
  /// the environment as it is.
  std::filesystem::path secret_file;
  std::string secret;
  /// After --data-dir, the ports (--ws-port 0 --metrics-port 0) and the secret file.
  std::vector<std::string> extra_args;
  server_output output = server_output::log_file;
  /// stdout_pipe only: the pipe's capacity (0: the system's default) and whether stderr goes to a
  /// second pipe of that capacity that nobody reads (instead of being inherited).
  int pipe_capacity = 0;
  bool unread_stderr_pipe = false;
  /// On destruction: SIGKILL (tests) or a graceful stop() (the load tool, benchmarks).
  bool graceful_stop_on_destruction = false;
  /// A restart listens on the WebSocket port of the first start, so clients reconnect to the URL
  /// they know (the first start takes an ephemeral port).
  bool same_port_on_restart = false;
  /// When above 0: the child's descriptor limit (RLIMIT_NOFILE, soft and hard), as a machine with
  /// a low `ulimit -n` would give it.
  unsigned long max_open_files = 0;
  /// Bounds the wait for the ready line; only a broken server takes this long.
  std::chrono::milliseconds ready_deadline = std::chrono::seconds(60);
};

class server_process {
 public:
  /// Starts at once and blocks until the ready line. Throws std::runtime_error (with the
  /// server's output in log_file mode) when the child exits or misses the deadline first.
  explicit server_process(server_process_options options);
  /// The tests' form: output to a log file, SIGKILL on destruction. An empty secret_file leaves
  /// the server to read ACTORSYNC_TOKEN_SECRET from the environment it inherits.
  server_process(std::filesystem::path binary, std::filesystem::path data_directory,
                 std::filesystem::path secret_file, std::vector<std::string> extra_args = {});
  ~server_process();
  server_process(const server_process&) = delete;
  server_process& operator=(const server_process&) = delete;

  /// Starts again (after kill() or stop()) on the same data directory; blocks until ready.
  void start();
  /// Sends `signal` and reaps the child; returns its wait status (0 when not running).
  int kill(int signal);
  /// Sends `signal` and waits for the exit until `deadline`; its wait status, or nothing when
  /// it did not exit (it keeps running).
  std::optional<int> stop_within(int signal, std::chrono::milliseconds deadline);
  /// Graceful stop: SIGTERM (the server bounds its own shutdown), SIGKILL after 30 s. Returns
  /// the exit code: 0 after a clean shutdown, 128 + signal when killed by one.
  int stop();

  bool running() const { return pid_ > 0; }
  pid_t pid() const { return pid_; }
  std::uint16_t ws_port() const { return ws_port_; }
  std::uint16_t wss_port() const { return wss_port_; }
  std::uint16_t metrics_port() const { return metrics_port_; }
  /// The first line the server printed on stdout in its latest start.
  const std::string& first_line() const { return first_line_; }
  /// log_file: everything the server wrote (stdout and stderr) across all its starts.
  std::string output() const;
  /// stdout_pipe with unread_stderr_pipe: the bytes written to stderr and still in the pipe.
  int unread_stderr_bytes() const;

 private:
  void close_pipes();
  bool parse_ready(const std::string& text);
  void wait_ready_in_file(std::uintmax_t offset);
  void wait_ready_on_pipe();

  server_process_options options_;
  std::filesystem::path log_file_;
  pid_t pid_ = -1;
  int stdout_fd_ = -1;
  int stderr_fd_ = -1;
  std::string first_line_;
  std::uint16_t ws_port_ = 0, wss_port_ = 0, metrics_port_ = 0;
};

/// The load tool's and the benchmarks' server: the secret through the environment, stdout read
/// up to the ready line and stderr inherited, a graceful stop on destruction, log level warning,
/// the server's default limits (a client opens another connection past 65,536 sessions), fsync
/// only when `durable`.
server_process_options measured_server(std::filesystem::path binary,
                                       std::filesystem::path data_directory, std::string secret,
                                       bool durable);

/// Locates actorsync-server: the path given, else the build-time location, else next to the
/// running executable. Throws std::runtime_error when none exists.
std::filesystem::path find_server_binary(const std::string& given);

}  // namespace actorsync::tools

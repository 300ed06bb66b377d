// A child process whose stdout the test reads line by line, and kills with
// SIGKILL (crash tests in tests/storage and tests/fault, the load tester's interrupt test).
#pragma once

#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

extern char** environ;

namespace actorsync::testing {

class piped_child {
 public:
  /// Starts `args[0]` with `args`; only stdin, stdout (the pipe) and stderr are inherited, so no
  /// socket of the test outlives the test's own close of it.
  explicit piped_child(std::vector<std::string> args) {
    int fds[2];
    if (::pipe(fds) != 0) throw std::runtime_error("pipe failed");
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);
    posix_spawn_file_actions_addclose(&actions, fds[0]);
    posix_spawn_file_actions_addclose(&actions, fds[1]);
    posix_spawn_file_actions_addclosefrom_np(&actions, 3);
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    const int spawned = posix_spawn(&pid_, argv[0], &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    ::close(fds[1]);
    read_fd_ = fds[0];
    if (spawned != 0) throw std::runtime_error("posix_spawn failed: " + args[0]);
  }
  ~piped_child() {
    if (pid_ > 0) kill();
    ::close(read_fd_);
  }
  piped_child(const piped_child&) = delete;
  piped_child& operator=(const piped_child&) = delete;

  /// The next line the child printed; nullopt at end of stream or once `until` passed.
  std::optional<std::string> next_line(
      std::chrono::steady_clock::time_point until = std::chrono::steady_clock::time_point::max()) {
    for (;;) {
      if (auto end = buffer_.find('\n'); end != std::string::npos) {
        auto line = buffer_.substr(0, end);
        buffer_.erase(0, end + 1);
        return line;
      }
      if (!wait_readable(until)) return std::nullopt;
      char chunk[4096];
      const auto n = ::read(read_fd_, chunk, sizeof chunk);
      if (n <= 0) return std::nullopt;
      buffer_.append(chunk, static_cast<std::size_t>(n));
    }
  }

  void signal(int number) const { ::kill(pid_, number); }

  /// Reaps the child once it has exited by itself; its exit code, -1 unless it exited normally.
  int wait_exit() {
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }

  /// SIGKILLs and reaps the child; returns its wait status.
  int kill() {
    ::kill(pid_, SIGKILL);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
    return status;
  }

 private:
  bool wait_readable(std::chrono::steady_clock::time_point until) const {
    int timeout_ms = -1;  // no deadline
    if (until != std::chrono::steady_clock::time_point::max()) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          until - std::chrono::steady_clock::now());
      if (left.count() <= 0) return false;
      timeout_ms = static_cast<int>(left.count());
    }
    pollfd p{read_fd_, POLLIN, 0};
    return ::poll(&p, 1, timeout_ms) > 0;
  }

  pid_t pid_ = -1;
  int read_fd_ = -1;
  std::string buffer_;
};

}  // namespace actorsync::testing

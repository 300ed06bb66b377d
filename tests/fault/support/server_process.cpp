#include "tests/fault/support/server_process.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace actorsync::testing {

server_process::server_process(std::filesystem::path binary, std::filesystem::path data_directory,
                               std::filesystem::path secret_file,
                               std::vector<std::string> extra_args)
    : binary_(std::move(binary)),
      data_(std::move(data_directory)),
      secret_(std::move(secret_file)),
      extra_(std::move(extra_args)),
      log_file_(data_.parent_path() / (data_.filename().string() + ".log")) {
  start();
}

server_process::~server_process() {
  if (running()) kill(SIGKILL);
}

void server_process::start() {
  if (running()) throw std::logic_error("server_process: already running");
  std::vector<std::string> args{binary_.string(), "--data-dir", data_.string(), "--ws-port", "0",
                                "--metrics-port", "0"};
  if (!secret_.empty()) args.insert(args.end(), {"--secret-file", secret_.string()});
  args.insert(args.end(), extra_.begin(), extra_.end());
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  // stdout (ready line, spdlog) and stderr both go to one file, appended across restarts, so
  // nothing the server writes can block or fail; opened before fork so the child only dup2s
  // and execs (async-signal-safe after fork).
  const auto offset = std::filesystem::exists(log_file_) ? std::filesystem::file_size(log_file_)
                                                         : std::uintmax_t{0};
  const int log = ::open(log_file_.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
  if (log < 0) throw std::runtime_error("cannot open " + log_file_.string());
  pid_ = ::fork();
  if (pid_ == 0) {
    ::dup2(log, STDOUT_FILENO);
    ::dup2(log, STDERR_FILENO);
    // Nothing else crosses the exec: Asio's sockets are not close-on-exec, and a server holding
    // copies of the test's sockets (the proxy's, the client's) keeps them open after the test
    // closes them, so a cut never reaches the peer (a half-open link until the pong timeout).
    ::close_range(3, ~0U, 0);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  ::close(log);
  // Wait for this start's ready line; the deadline only fails the test.
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  for (;;) {
    const auto text = output().substr(offset);
    if (auto at = text.find("actorsync-server ready ");
        at != std::string::npos && text.find('\n', at) != std::string::npos) {
      unsigned ws = 0, wss = 0, metrics = 0;
      if (std::sscanf(text.c_str() + at, "actorsync-server ready ws=%u wss=%u metrics=%u", &ws,
                      &wss, &metrics) == 3) {
        ws_port_ = static_cast<std::uint16_t>(ws);
        metrics_port_ = static_cast<std::uint16_t>(metrics);
        return;
      }
    }
    int status = 0;
    const bool exited = ::waitpid(pid_, &status, WNOHANG) == pid_;
    if (exited) pid_ = -1;
    if (exited || std::chrono::steady_clock::now() > until) {
      kill(SIGKILL);
      throw std::runtime_error("actorsync-server did not become ready:\n" + text);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

int server_process::kill(int signal) {
  if (!running()) return 0;
  ::kill(pid_, signal);
  int status = 0;
  ::waitpid(pid_, &status, 0);
  pid_ = -1;
  return status;
}

std::string server_process::output() const {
  std::ifstream in(log_file_);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace actorsync::testing

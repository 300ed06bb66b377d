#include "tools/server_process/server_process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

extern char** environ;

namespace actorsync::tools {

namespace {

constexpr const char* secret_variable = "ACTORSYNC_TOKEN_SECRET";

std::vector<std::string> arguments(const server_process_options& o, std::uint16_t ws_port) {
  std::vector<std::string> args{o.binary.string(),
                                "--data-dir",
                                o.data_directory.string(),
                                "--ws-port",
                                std::to_string(ws_port),
                                "--metrics-port",
                                "0"};
  if (!o.secret_file.empty()) args.insert(args.end(), {"--secret-file", o.secret_file.string()});
  args.insert(args.end(), o.extra_args.begin(), o.extra_args.end());
  return args;
}

/// The parent's environment, with the secret in place of any inherited one when it is given.
std::vector<std::string> environment(const server_process_options& o) {
  std::vector<std::string> env;
  const auto prefix = std::string(secret_variable) + "=";
  for (char** e = environ; *e != nullptr; ++e) {
    if (!o.secret.empty() && std::strncmp(*e, prefix.c_str(), prefix.size()) == 0) continue;
    env.emplace_back(*e);
  }
  if (!o.secret.empty()) env.push_back(prefix + o.secret);
  return env;
}

std::vector<char*> pointers(std::vector<std::string>& strings) {
  std::vector<char*> result;
  for (auto& s : strings) result.push_back(s.data());
  result.push_back(nullptr);
  return result;
}

std::pair<int, int> make_pipe(int capacity) {
  int ends[2];
  if (::pipe2(ends, O_CLOEXEC) != 0) throw std::runtime_error("pipe failed");
  if (capacity > 0) ::fcntl(ends[1], F_SETPIPE_SZ, capacity);
  return {ends[0], ends[1]};
}

server_process_options test_options(std::filesystem::path binary,
                                    std::filesystem::path data_directory,
                                    std::filesystem::path secret_file,
                                    std::vector<std::string> extra_args) {
  server_process_options o;
  o.binary = std::move(binary);
  o.data_directory = std::move(data_directory);
  o.secret_file = std::move(secret_file);
  o.extra_args = std::move(extra_args);
  return o;
}

int exit_code(int status) {
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

}  // namespace

server_process::server_process(server_process_options options) : options_(std::move(options)) {
  const auto& data = options_.data_directory;
  if (options_.output == server_output::log_file) {
    log_file_ = data.parent_path() / (data.filename().string() + ".log");
  }
  std::filesystem::create_directories(data);
  start();
}

server_process::server_process(std::filesystem::path binary, std::filesystem::path data_directory,
                               std::filesystem::path secret_file,
                               std::vector<std::string> extra_args)
    : server_process(test_options(std::move(binary), std::move(data_directory),
                                  std::move(secret_file), std::move(extra_args))) {}

server_process::~server_process() {
  if (running()) {
    if (options_.graceful_stop_on_destruction) {
      stop();
    } else {
      kill(SIGKILL);
    }
  }
  close_pipes();
}

void server_process::start() {
  if (running()) throw std::logic_error("server_process: already running");
  close_pipes();
  first_line_.clear();
  const std::uint16_t ws_port = options_.same_port_on_restart ? ws_port_ : 0;
  ws_port_ = wss_port_ = metrics_port_ = 0;
  auto args = arguments(options_, ws_port);
  auto env = environment(options_);
  auto argv = pointers(args);
  auto envp = pointers(env);
  // Every descriptor the child keeps is opened before fork, so the child only dup2s and execs
  // (async-signal-safe after fork).
  int out = -1, err = -1;
  std::uintmax_t offset = 0;
  if (options_.output == server_output::log_file) {
    offset = std::filesystem::exists(log_file_) ? std::filesystem::file_size(log_file_) : 0;
    out = ::open(log_file_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (out < 0) throw std::runtime_error("cannot open " + log_file_.string());
    err = out;
  } else {
    std::tie(stdout_fd_, out) = make_pipe(options_.pipe_capacity);
    if (options_.unread_stderr_pipe) std::tie(stderr_fd_, err) = make_pipe(options_.pipe_capacity);
  }
  pid_ = ::fork();
  if (pid_ == 0) {
    // A process group of its own: Ctrl-C in a terminal signals the whole foreground group, and
    // the parent (the load tool) stops its server itself after writing its report; a server
    // that got the SIGINT too would send every session server_going_away first.
    ::setpgid(0, 0);
    // A parent that dies without stopping it (a test killed by its timeout) takes the server
    // along: an orphaned node would keep renewing its lease and hold realms of later tests.
    ::prctl(PR_SET_PDEATHSIG, options_.graceful_stop_on_destruction ? SIGTERM : SIGKILL);
    ::dup2(out, STDOUT_FILENO);
    if (err >= 0) ::dup2(err, STDERR_FILENO);
    // Nothing else crosses the exec: Asio's sockets are not close-on-exec, and a server holding
    // copies of a test's sockets (a proxy's, a client's) keeps them open after the test closes
    // them, so a cut never reaches the peer (a half-open link until the pong timeout).
    ::close_range(3, ~0U, 0);
    if (options_.max_open_files > 0) {
      const rlimit files{options_.max_open_files, options_.max_open_files};
      ::setrlimit(RLIMIT_NOFILE, &files);
    }
    ::execve(argv[0], argv.data(), envp.data());
    ::_exit(127);
  }
  ::close(out);
  if (err >= 0 && err != out) ::close(err);
  if (pid_ < 0) throw std::runtime_error("fork failed");
  if (options_.output == server_output::log_file) {
    wait_ready_in_file(offset);
  } else {
    wait_ready_on_pipe();
  }
}

bool server_process::parse_ready(const std::string& line) {
  unsigned ws = 0, wss = 0, metrics = 0;
  if (std::sscanf(line.c_str(), "actorsync-server ready ws=%u wss=%u metrics=%u", &ws, &wss,
                  &metrics) != 3) {
    return false;
  }
  ws_port_ = static_cast<std::uint16_t>(ws);
  wss_port_ = static_cast<std::uint16_t>(wss);
  metrics_port_ = static_cast<std::uint16_t>(metrics);
  return true;
}

void server_process::wait_ready_in_file(std::uintmax_t offset) {
  const auto until = std::chrono::steady_clock::now() + options_.ready_deadline;
  for (;;) {
    const auto text = output().substr(offset);
    if (first_line_.empty() && text.find('\n') != std::string::npos) {
      first_line_ = text.substr(0, text.find('\n'));
    }
    if (auto at = text.find("actorsync-server ready "); at != std::string::npos &&
                                                        text.find('\n', at) != std::string::npos &&
                                                        parse_ready(text.substr(at))) {
      return;
    }
    int status = 0;
    const bool exited = ::waitpid(pid_, &status, WNOHANG) == pid_;
    if (exited) pid_ = -1;
    if (exited || std::chrono::steady_clock::now() > until) {
      kill(SIGKILL);
      throw std::runtime_error("actorsync-server did not become ready:\n" + text);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));  // polling the file, not a wait
  }
}

void server_process::wait_ready_on_pipe() {
  const auto until = std::chrono::steady_clock::now() + options_.ready_deadline;
  std::string buffer;
  for (;;) {
    for (auto end = buffer.find('\n'); end != std::string::npos; end = buffer.find('\n')) {
      const auto line = buffer.substr(0, end);
      buffer.erase(0, end + 1);
      if (first_line_.empty()) first_line_ = line;
      if (parse_ready(line)) return;  // the pipe stays open: a closed one would SIGPIPE the child
    }
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        until - std::chrono::steady_clock::now());
    pollfd readable{stdout_fd_, POLLIN, 0};
    ssize_t n = 0;
    char chunk[4096];
    if (left.count() > 0 && ::poll(&readable, 1, static_cast<int>(left.count())) > 0) {
      n = ::read(stdout_fd_, chunk, sizeof chunk);
    }
    if (n <= 0) {  // the child exited (end of stream) or the deadline passed
      kill(SIGKILL);
      close_pipes();
      throw std::runtime_error("actorsync-server did not start (see its messages above)");
    }
    buffer.append(chunk, static_cast<std::size_t>(n));
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

std::optional<int> server_process::stop_within(int signal, std::chrono::milliseconds deadline) {
  if (!running()) return 0;
  const int exited = static_cast<int>(::syscall(SYS_pidfd_open, pid_, 0));
  if (exited < 0) throw std::runtime_error("pidfd_open failed");
  ::kill(pid_, signal);
  pollfd wait{exited, POLLIN, 0};
  const bool done = ::poll(&wait, 1, static_cast<int>(deadline.count())) == 1;
  ::close(exited);
  if (!done) return std::nullopt;
  int status = 0;
  ::waitpid(pid_, &status, 0);
  pid_ = -1;
  return status;
}

int server_process::stop() {
  if (!running()) return 0;
  // The server bounds its own shutdown; a hung child is killed after a grace period.
  if (auto status = stop_within(SIGTERM, std::chrono::seconds(30))) return exit_code(*status);
  return exit_code(kill(SIGKILL));
}

std::string server_process::output() const {
  std::ifstream in(log_file_);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

int server_process::unread_stderr_bytes() const {
  int bytes = 0;
  if (stderr_fd_ >= 0) ::ioctl(stderr_fd_, FIONREAD, &bytes);
  return bytes;
}

void server_process::close_pipes() {
  if (stdout_fd_ >= 0) ::close(stdout_fd_);
  if (stderr_fd_ >= 0) ::close(stderr_fd_);
  stdout_fd_ = stderr_fd_ = -1;
}

server_process_options measured_server(std::filesystem::path binary,
                                       std::filesystem::path data_directory, std::string secret,
                                       bool durable) {
  server_process_options o;
  o.binary = std::move(binary);
  o.data_directory = std::move(data_directory);
  o.secret = std::move(secret);
  // The server's default limits (max_sessions_per_connection 65,536): a client with more
  // sessions of one user opens another connection, as it must against any default server.
  o.extra_args = {"--log-level", "warning"};
  if (!durable) o.extra_args.push_back("--no-fsync");
  o.output = server_output::stdout_pipe;
  o.graceful_stop_on_destruction = true;
  return o;
}

std::filesystem::path find_server_binary(const std::string& given) {
  if (!given.empty()) return given;
#ifdef ACTORSYNC_SERVER_BINARY
  if (std::filesystem::exists(ACTORSYNC_SERVER_BINARY)) return ACTORSYNC_SERVER_BINARY;
#endif
  std::error_code ec;
  const auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    auto sibling = self.parent_path() / "actorsync-server";
    if (std::filesystem::exists(sibling)) return sibling;
  }
  throw std::runtime_error("cannot find actorsync-server; pass --server-binary");
}

}  // namespace actorsync::tools

#include "tools/load/embedded_server.hpp"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <vector>

namespace actorsync::load {

namespace {

std::vector<std::string> server_arguments(const embedded_server_options& o) {
  std::vector<std::string> args = {o.binary.string(),
                                   "--data-dir",
                                   o.data_directory.string(),
                                   "--ws-port",
                                   "0",
                                   "--metrics-port",
                                   "0",
                                   "--max-sessions-per-connection",
                                   std::to_string(o.max_sessions_per_connection),
                                   "--log-level",
                                   "warning"};
  if (!o.durable) args.push_back("--no-fsync");
  if (o.tls) {
    args.insert(args.end(), {"--wss-port", "0", "--tls-cert", o.tls_certificate_file, "--tls-key",
                             o.tls_private_key_file});
  }
  return args;
}

// Parses "actorsync-server ready ws=N wss=N metrics=N".
bool parse_ready_line(const std::string& line, unsigned& ws, unsigned& wss, unsigned& metrics) {
  return std::sscanf(line.c_str(), "actorsync-server ready ws=%u wss=%u metrics=%u", &ws, &wss,
                     &metrics) == 3;
}

}  // namespace

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

embedded_server::embedded_server(const embedded_server_options& options) {
  std::filesystem::create_directories(options.data_directory);
  int out[2];
  if (pipe(out) != 0) throw std::runtime_error("pipe failed");
  const auto args = server_arguments(options);
  pid_ = fork();
  if (pid_ < 0) throw std::runtime_error("fork failed");
  if (pid_ == 0) {
    dup2(out[1], STDOUT_FILENO);
    close(out[0]);
    close(out[1]);
    setenv("ACTORSYNC_TOKEN_SECRET", options.token_secret.c_str(), 1);
    std::vector<char*> argv;
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    execv(argv[0], argv.data());
    std::perror("execv actorsync-server");
    _exit(127);
  }
  close(out[1]);
  // The first line on stdout says the server is ready and names its ports.
  FILE* from_child = fdopen(out[0], "r");
  char buffer[512];
  std::string line;
  while (std::fgets(buffer, sizeof buffer, from_child) != nullptr) {
    line = buffer;
    unsigned ws = 0, wss = 0, metrics = 0;
    if (parse_ready_line(line, ws, wss, metrics)) {
      ws_port_ = static_cast<std::uint16_t>(ws);
      wss_port_ = static_cast<std::uint16_t>(wss);
      metrics_port_ = static_cast<std::uint16_t>(metrics);
      break;
    }
  }
  // Kept open until stop(): a closed pipe would kill the child with SIGPIPE on its next print.
  stdout_pipe_ = from_child;
  if (ws_port_ == 0) {
    stop();
    throw std::runtime_error("actorsync-server did not start (see its messages above)");
  }
}

int embedded_server::stop() {
  if (pid_ <= 0) return 0;
  kill(pid_, SIGTERM);
  int status = 0;
  // The server bounds its own shutdown; a hung child is killed after a grace period.
  for (int waited_ms = 0; waited_ms < 30000; waited_ms += 10) {
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      close_pipe();
      return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    }
    usleep(10000);
  }
  kill(pid_, SIGKILL);
  waitpid(pid_, &status, 0);
  pid_ = -1;
  close_pipe();
  return 137;
}

void embedded_server::close_pipe() {
  if (stdout_pipe_ != nullptr) std::fclose(stdout_pipe_);
  stdout_pipe_ = nullptr;
}

embedded_server::~embedded_server() {
  stop();
}

}  // namespace actorsync::load

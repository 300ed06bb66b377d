#include "tools/load/embedded_cluster.hpp"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <iostream>
#include <random>
#include <stdexcept>

#include "tools/server_process/server_process.hpp"

extern char** environ;

namespace actorsync::load {

namespace {

/// The source tree's tools/ folder, where the scripts live (a build-tree tool only: the
/// scripts are not installed).
std::filesystem::path scripts_directory() {
#ifdef ACTORSYNC_SOURCE_DIR
  const std::filesystem::path tools = std::filesystem::path(ACTORSYNC_SOURCE_DIR) / "tools";
#else
  const std::filesystem::path tools;
#endif
  for (const char* script : {"pg-test-instance.sh", "nats-test-instance.sh"}) {
    if (tools.empty() || ::access((tools / script).c_str(), X_OK) != 0) {
      throw std::runtime_error(
          "--cluster needs the source tree's tools/pg-test-instance.sh and "
          "tools/nats-test-instance.sh (not found in " +
          (tools.empty() ? std::string("an installed tool") : tools.string()) +
          "): run actorsync-load from its build tree");
    }
  }
  return tools;
}

struct script_result {
  int exit_code = -1;
  std::string last_line;  ///< the last line the script printed on stdout
};

/// Runs a script to its end in a process group of its own (a Ctrl-C meant for the tool does
/// not stop it half-way), stdout read through a pipe, stderr inherited (its messages reach the
/// user), nothing else inherited.
script_result run_script(std::vector<std::string> args) {
  int ends[2];
  if (::pipe2(ends, O_CLOEXEC) != 0) throw std::runtime_error("pipe failed");
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, ends[1], STDOUT_FILENO);
  posix_spawn_file_actions_addclosefrom_np(&actions, 3);
  posix_spawnattr_t attributes;
  posix_spawnattr_init(&attributes);
  posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETPGROUP);
  posix_spawnattr_setpgroup(&attributes, 0);
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = 0;
  const int spawned = ::posix_spawn(&pid, argv[0], &actions, &attributes, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attributes);
  ::close(ends[1]);
  script_result result;
  if (spawned != 0) {
    ::close(ends[0]);
    throw std::runtime_error("cannot run " + args[0]);
  }
  std::string output;
  char chunk[4096];
  for (ssize_t n; (n = ::read(ends[0], chunk, sizeof chunk)) != 0;) {
    if (n > 0) output.append(chunk, static_cast<std::size_t>(n));
    if (n < 0 && errno != EINTR) break;
  }
  ::close(ends[0]);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  while (!output.empty() && output.back() == '\n') output.pop_back();
  result.last_line =
      output.substr(output.rfind('\n') == std::string::npos ? 0 : output.rfind('\n') + 1);
  return result;
}

/// Starts a service through its script; the URL(s) it printed. Exit code 3: not installed.
std::string start_service(const std::vector<std::string>& args, const std::string& what,
                          const std::string& package) {
  const auto r = run_script(args);
  if (r.exit_code == 3) {
    throw std::runtime_error("--cluster needs " + what +
                             ", which is not installed: apt-get install " + package +
                             " (or run tools/install-deps.sh)");
  }
  if (r.exit_code != 0 || r.last_line.empty()) {
    throw std::runtime_error(what + " did not start (" + args[0] + " exited with " +
                             std::to_string(r.exit_code) + "; its messages are above)");
  }
  return r.last_line;
}

pid_t pid_in_file(const std::filesystem::path& file) {
  std::ifstream in(file);
  long pid = 0;
  return in >> pid ? static_cast<pid_t>(pid) : 0;
}

}  // namespace

embedded_cluster::embedded_cluster(std::size_t nodes, const std::filesystem::path& server_binary,
                                   const std::string& secret, bool keep_directory)
    : keep_directory_(keep_directory) {
  if (nodes == 0) throw std::invalid_argument("embedded_cluster: no nodes");
  std::random_device random;
  root_ = std::filesystem::temp_directory_path() /
          ("actorsync-load-cluster-" + std::to_string(::getpid()) + "-" + std::to_string(random()));
  std::filesystem::create_directories(root_);
  // PostgreSQL runs as the postgres user when the tool runs as root: it must reach its folder.
  std::filesystem::permissions(root_, std::filesystem::perms(0755));
  try {
    start(nodes, server_binary, secret);
  } catch (...) {
    stop();
    throw;
  }
}

embedded_cluster::~embedded_cluster() {
  stop();
}

void embedded_cluster::start(std::size_t nodes, const std::filesystem::path& server_binary,
                             const std::string& secret) {
  const auto tools = scripts_directory();
  const auto owner = std::to_string(::getpid());  // the scripts' watchdogs follow this process
  postgres_started_ = true;  // from here on stop() runs the stop command (a no-op if not up)
  postgres_url_ = start_service(
      {(tools / "pg-test-instance.sh").string(), "start", (root_ / "pg").string(), owner},
      "PostgreSQL 15", "postgresql");
  nats_started_ = true;
  const auto nats_dir = (root_ / "nats").string();
  nats_urls_ =
      nodes == 1
          ? start_service({(tools / "nats-test-instance.sh").string(), "start", nats_dir, owner},
                          "nats-server", "nats-server")
          : start_service(
                {(tools / "nats-test-instance.sh").string(), "start-cluster", nats_dir, "3", owner},
                "nats-server", "nats-server");
  const auto config = root_ / "cluster.toml";
  std::ofstream(config) << "[cluster]\nlease_time_ms = " << lease_time_ms << "\n";
  for (std::size_t i = 0; i < nodes; ++i) {
    const auto id = "node-" + std::to_string(i);
    auto options = tools::measured_server(server_binary, root_ / id, secret, true);
    options.extra_args.insert(options.extra_args.end(),
                              {"--config", config.string(), "--postgres", postgres_url_,
                               "--node-id", id, "--nats", nats_urls_});
    processes_.push_back(std::make_unique<tools::server_process>(std::move(options)));
    const auto& node = *processes_.back();
    nodes_.push_back({id, "ws://127.0.0.1:" + std::to_string(node.ws_port()),
                      "http://127.0.0.1:" + std::to_string(node.metrics_port()) + "/metrics",
                      node.pid()});
  }
}

std::vector<std::string> embedded_cluster::urls() const {
  std::vector<std::string> out;
  for (const auto& n : nodes_) out.push_back(n.url);
  return out;
}

pid_t embedded_cluster::postgres_pid() const {
  return pid_in_file(root_ / "pg" / "data" / "postmaster.pid");
}

std::vector<pid_t> embedded_cluster::nats_pids() const {
  std::vector<pid_t> out;
  std::error_code ec;
  for (const auto& member : std::filesystem::directory_iterator(root_ / "nats", ec)) {
    if (const auto pid = pid_in_file(member.path() / "pid"); pid > 0) out.push_back(pid);
  }
  return out;
}

bool embedded_cluster::stop() {
  if (root_.empty()) return true;
  bool clean = true;
  // Every node drains at once (a second SIGTERM from stop() is ignored by a draining server).
  for (auto& p : processes_) {
    if (p->running()) (void)p->stop_within(SIGTERM, std::chrono::milliseconds(0));
  }
  for (std::size_t i = 0; i < processes_.size(); ++i) {
    if (processes_[i]->stop() != 0) {
      std::cerr << "actorsync-load: cluster node-" << i << " did not shut down cleanly\n";
      clean = false;
    }
  }
  processes_.clear();
  try {
    const auto tools = scripts_directory();
    if (nats_started_ &&
        run_script({(tools / "nats-test-instance.sh").string(), "stop", (root_ / "nats").string()})
                .exit_code != 0) {
      clean = false;
    }
    if (postgres_started_ && run_script({(tools / "pg-test-instance.sh").string(), "stop",
                                         (root_ / "pg").string(), "fast"})
                                     .exit_code != 0) {
      clean = false;
    }
  } catch (const std::exception& e) {
    std::cerr << "actorsync-load: stopping the cluster: " << e.what() << '\n';
    clean = false;
  }
  if (!clean) std::cerr << "actorsync-load: cluster files kept in " << root_.string() << '\n';
  if (clean && !keep_directory_) {
    std::error_code ignored;
    std::filesystem::remove_all(root_, ignored);
  }
  root_.clear();
  return clean;
}

}  // namespace actorsync::load

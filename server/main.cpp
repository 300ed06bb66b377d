// actorsync-server: the sync server binary. Options come from a TOML file (--config) and are
// overridden by flags. Runs until SIGTERM or SIGINT, then stops gracefully.
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>

#include <actorsync/server/config_file.hpp>
#include <actorsync/server/sync_server.hpp>
#include "server/command_line.hpp"
#include "server/data_verify.hpp"
#include "server/log_sink.hpp"

namespace {

using actorsync::server::file_config;

struct flag_overrides {
  std::string data_directory, ws_address, wss_address, metrics_address, tls_certificate_file,
      tls_private_key_file, secret_file, log_level, log_format, postgres_url, node_id;
  std::vector<std::string> nats_urls;
  std::vector<std::string> token_public_key_files;
  int ws_port = -1, wss_port = -1, metrics_port = -1;
  bool no_ws = false, no_metrics = false, not_durable = false, verify = false;
  std::size_t max_sessions_per_connection = 0, io_threads = 0, actor_threads = 0;
  long long min_free_disk_mb = -1;
};

void add_flags(CLI::App& app, std::string& config_file, flag_overrides& f) {
  app.add_option("-c,--config", config_file, "TOML configuration file (see config/server.toml)");
  app.add_option("--data-dir", f.data_directory, "Directory of the history database");
  app.add_option("--ws-address", f.ws_address, "Address of the ws:// listener");
  app.add_option("--ws-port", f.ws_port, "Port of the ws:// listener (0: ephemeral)");
  app.add_flag("--no-ws", f.no_ws, "Disable the ws:// listener");
  app.add_option("--wss-address", f.wss_address, "Address of the wss:// listener");
  app.add_option("--wss-port", f.wss_port, "Enable wss:// on this port (0: ephemeral)");
  app.add_option("--tls-cert", f.tls_certificate_file, "PEM certificate chain for wss://");
  app.add_option("--tls-key", f.tls_private_key_file, "PEM private key for wss://");
  app.add_option("--metrics-address", f.metrics_address, "Address of the metrics endpoint");
  app.add_option("--metrics-port", f.metrics_port, "Port of the metrics endpoint (0: ephemeral)");
  app.add_flag("--no-metrics", f.no_metrics, "Disable the metrics endpoint");
  app.add_option("--secret-file", f.secret_file,
                 "File holding the token secret (default: ACTORSYNC_TOKEN_SECRET)");
  app.add_option("--token-public-key", f.token_public_key_files,
                 "PEM public key of an identity provider whose RS256/ES256 tokens are accepted "
                 "(repeatable)");
  app.add_option("--max-sessions-per-connection", f.max_sessions_per_connection, "Session limit");
  app.add_option("--io-threads", f.io_threads, "Asio threads");
  app.add_option("--actor-threads", f.actor_threads, "CAF scheduler threads");
  app.add_flag("--no-fsync", f.not_durable, "Acknowledge before fsync (benchmarks only)");
  app.add_flag("--verify", f.verify,
               "Check the data directory offline (a stopped server's) and exit: 0 nothing "
               "damaged, 4 damage found, 1 it could not be checked");
  app.add_option("--min-free-disk-mb", f.min_free_disk_mb,
                 "Free space kept on the data directory's disk; below it uploads are refused")
      ->check(CLI::Range(0LL,
                         static_cast<long long>(actorsync::server::tuning::max_min_free_disk_mib)));
  app.add_option("--postgres", f.postgres_url,
                 "Keep the history in PostgreSQL at this URL instead of RocksDB (docs/cluster.md)");
  app.add_option("--node-id", f.node_id, "This node's name in a cluster (with --postgres)");
  app.add_option("--nats", f.nats_urls,
                 "NATS URLs of the cluster's bus, comma separated (with --postgres; "
                 "docs/cluster.md)")
      ->delimiter(',');
  app.add_option("--log-level", f.log_level, "trace, debug, info, warning, error, critical, off");
  app.add_option("--log-format", f.log_format, "text (default) or json: one JSON object per line")
      ->check(CLI::IsMember({"text", "json"}));
}

void apply(const flag_overrides& f, file_config& c) {
  auto& o = c.options;
  auto port = [](int value, const char* name) {
    if (value < 0 || value > 65535) throw std::runtime_error(std::string(name) + ": not a port");
    return static_cast<std::uint16_t>(value);
  };
  if (!f.data_directory.empty()) o.data_directory = f.data_directory;
  if (!f.ws_address.empty()) o.ws.address = f.ws_address;
  if (f.ws_port >= 0 || f.ws_port < -1) o.ws.port = port(f.ws_port, "--ws-port");
  if (f.no_ws) o.ws.enabled = false;
  if (!f.wss_address.empty()) o.wss.address = f.wss_address;
  if (f.wss_port != -1) {
    o.wss.enabled = true;
    o.wss.port = port(f.wss_port, "--wss-port");
  }
  if (!f.tls_certificate_file.empty()) o.tls_certificate_file = f.tls_certificate_file;
  if (!f.tls_private_key_file.empty()) o.tls_private_key_file = f.tls_private_key_file;
  if (!f.metrics_address.empty()) o.metrics.address = f.metrics_address;
  if (f.metrics_port != -1) o.metrics.port = port(f.metrics_port, "--metrics-port");
  if (f.no_metrics) o.metrics.enabled = false;
  if (!f.secret_file.empty()) c.secret_file = f.secret_file;
  if (!f.token_public_key_files.empty()) o.token_public_key_files = f.token_public_key_files;
  if (f.max_sessions_per_connection != 0)
    o.max_sessions_per_connection = f.max_sessions_per_connection;
  if (f.io_threads != 0) o.io_threads = f.io_threads;
  if (f.actor_threads != 0) o.actor_threads = f.actor_threads;
  if (f.not_durable) o.durable = false;
  if (f.min_free_disk_mb >= 0) o.min_free_disk_mib = static_cast<std::uint64_t>(f.min_free_disk_mb);
  if (!f.log_level.empty()) o.log_level = f.log_level;
  if (!f.log_format.empty()) c.log_format = f.log_format;
  if (!f.postgres_url.empty()) o.postgres_url = f.postgres_url;
  if (!f.node_id.empty()) o.node_id = f.node_id;
  if (!f.nats_urls.empty()) o.nats_urls = f.nats_urls;
}

/// systemd's readiness protocol (sd_notify(3)) without libsystemd: one datagram to
/// $NOTIFY_SOCKET, a path or "@" for the abstract namespace. Nothing when it is unset (not run
/// by systemd with Type=notify, config/actorsync-server.service).
void notify_systemd(const char* state) {
  const char* path = std::getenv("NOTIFY_SOCKET");
  if (path == nullptr || (path[0] != '/' && path[0] != '@')) return;
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  const auto length = std::strlen(path);
  if (length >= sizeof address.sun_path) return;
  std::memcpy(address.sun_path, path, length);
  if (path[0] == '@') address.sun_path[0] = '\0';
  const int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return;
  ::sendto(fd, state, std::strlen(state), MSG_NOSIGNAL, reinterpret_cast<sockaddr*>(&address),
           static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + length));
  ::close(fd);
}

// The soft descriptor limit (often 1024) up to the hard one: connections are file descriptors,
// and the server lowers its connection limits to what the soft limit leaves.
void raise_descriptor_limit() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    setrlimit(RLIMIT_NOFILE, &limit);
  }
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"actorsync-server: the actorsync sync server"};
  std::string config_file;
  flag_overrides flags;
  add_flags(app, config_file, flags);
  actorsync::command_line::add_version(app, "actorsync-server");
  if (auto status = actorsync::command_line::parse(app, argc, argv)) return *status;

  file_config config;
  try {
    if (!config_file.empty()) config = actorsync::server::load_config_file(config_file);
    apply(flags, config);
    // --verify reads only the data directory: it needs no secret or listener settings.
    if (!flags.verify) {
      actorsync::server::resolve_token_secret(config.options, config.secret_file);
      if (auto why = actorsync::server::validate(config.options); !why.empty()) {
        throw std::runtime_error(why);
      }
    }
  } catch (const std::exception& e) {
    std::cerr << "actorsync-server: invalid configuration: " << e.what() << "\n";
    return actorsync::command_line::exit_usage_error;
  }
  if (flags.verify) {
    return actorsync::server::verify_data_directory(config.options.data_directory, std::cout);
  }
  // Logs go to stderr and never block; stdout carries only the ready line.
  actorsync::server::install_stderr_logger(*actorsync::server::parse_log_format(config.log_format));
  spdlog::set_level(spdlog::level::from_str(config.options.log_level));

  // Block the stop signals before any thread starts, so only sigwait below receives them.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  raise_descriptor_limit();
  actorsync::server::sync_server server;
  try {
    auto ports = server.start(config.options);
    // One machine-readable line: scripts and tests learn the (possibly ephemeral) ports here.
    std::printf("actorsync-server ready ws=%u wss=%u metrics=%u\n", ports.ws, ports.wss,
                ports.metrics);
    std::fflush(stdout);
    notify_systemd("READY=1");
  } catch (const actorsync::server::data_directory_error& e) {
    std::cerr << "actorsync-server: cannot start: " << e.what() << "\n";
    return e.why() == actorsync::server::data_directory_error::cause::disk_full
               ? actorsync::command_line::exit_disk_full
               : actorsync::command_line::exit_data_damaged;
  } catch (const std::exception& e) {
    std::cerr << "actorsync-server: cannot start: " << e.what() << "\n";
    return actorsync::command_line::exit_failed;
  }
  int signal_number = 0;
  sigwait(&stop_signals, &signal_number);
  spdlog::info("signal {} received, shutting down", signal_number);
  notify_systemd("STOPPING=1");
  server.stop();
  return actorsync::command_line::exit_ok;
}

// actorsync-load: many realm sessions against a sync server (embedded by default), one
// bounded workload, a live progress line and a final report. Exit status 0 only on success,
// 130 when interrupted (partial report), 1 when failed, 2 when it could not start.
#include <sys/resource.h>
#include <unistd.h>

#include <openssl/rand.h>
#include <CLI/CLI.hpp>

#include <fstream>
#include <iostream>
#include <optional>
#include <random>

#include <actorsync/server/token.hpp>
#include "actors/server_url.hpp"
#include "server/command_line.hpp"
#include "server/process_stats.hpp"
#include "tools/load/embedded_cluster.hpp"
#include "tools/load/load_run.hpp"
#include "tools/load/process_cpu.hpp"
#include "tools/load/workloads.hpp"
#include "tools/server_process/server_process.hpp"

namespace {

using namespace actorsync;

/// Exit status of a run stopped by Ctrl-C or SIGTERM (its report is written, and partial).
constexpr int interrupted_status = 130;
using load::load_options;

// Without --realms, fanout and churn run fewer realms than the 10,000 of upload and idle so that
// their defaults finish in about a minute (docs/load-testing.md). fanout: 500 realms x 10 readers
// (5,500 sessions), 100 writes per writer at 1,000 writes/s: 50,000 writes in about 50 s (10,000
// realms took 17 minutes). churn: 1,000 realms x 2 replicas x 100 steps, about 40 s (10,000
// realms did not finish in 5 minutes).
constexpr std::uint64_t fanout_default_realms = 500;
constexpr std::uint64_t churn_default_realms = 1000;
constexpr std::uint64_t reset_default_realms = 1000;

// The command line as a shell would accept it again (arguments with special characters quoted).
std::string invocation_text(int argc, char** argv) {
  std::string line;
  for (int i = 0; i < argc; ++i) {
    const std::string arg = argv[i];
    if (i > 0) line += ' ';
    const bool plain = !arg.empty() && arg.find_first_not_of(
                                           "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                           "0123456789-_./=:,+@%") == std::string::npos;
    if (plain) {
      line += arg;
      continue;
    }
    line += '\'';
    for (char ch : arg) line += ch == '\'' ? std::string("'\\''") : std::string(1, ch);
    line += '\'';
  }
  return line;
}

void add_options(CLI::App& cli, load_options& o, std::uint64_t& max_duration_s,
                 std::uint64_t& hold_s) {
  // A later occurrence wins, so wrappers (tools/run-load.sh) can pass defaults the user's
  // arguments override.
  cli.option_defaults()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  cli.add_option("--workload", o.workload, "upload | fanout | idle | churn | reset")
      ->check(CLI::IsMember({"upload", "fanout", "idle", "churn", "reset"}));
  cli.add_option("--realms", o.realms,
                 "Realms (sessions per replica; default 10000, fanout: " +
                     std::to_string(fanout_default_realms) +
                     ", churn: " + std::to_string(churn_default_realms) +
                     ", reset: " + std::to_string(reset_default_realms) + ")")
      ->check(CLI::Range(1, 10'000'000));
  cli.add_option("--writes", o.writes, "Writes per realm (per writer for fanout)")
      ->check(CLI::Range(0, 100'000'000));
  cli.add_option("--rate", o.rate,
                 "Writes per second over the run (0: as fast as allowed; fanout: 0 means 1000)")
      ->check(CLI::NonNegativeNumber);
  cli.add_option("--readers", o.readers, "fanout: reader replicas per realm")
      ->check(CLI::Range(1, 1000));
  cli.add_option("--multiplexing", o.multiplexing,
                 "Share connections between sessions (true/false)");
  cli.add_option("--connections", o.connections, "With multiplexing: number of links (users)")
      ->check(CLI::Range(1, 100000));
  // Several servers accumulate (repeated or comma separated) rather than the later winning.
  cli.add_option("--server-url", o.server_urls,
                 "ws:// or wss:// URL of an external server (default: embedded); repeat it or "
                 "separate URLs with commas for several nodes, tried in order with failover")
      ->delimiter(',')
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  cli.add_option("--cluster", o.cluster_nodes,
                 "Instead of the embedded server: an embedded cluster of N nodes on a throwaway "
                 "PostgreSQL and NATS (needs postgresql and nats-server installed)")
      ->check(CLI::Range(1, 64));
  cli.add_option("--token", o.token, "Token for an external server");
  cli.add_option("--token-secret-file", o.token_secret_file,
                 "Issue tokens with this secret (external server)");
  cli.add_flag("--tls", o.tls, "Use wss:// (embedded server: needs --tls-cert/--tls-key)");
  cli.add_option("--tls-trust", o.tls_trust_file, "PEM CA file trusted for wss://");
  cli.add_option("--tls-cert", o.tls_certificate_file, "Embedded server certificate (PEM)");
  cli.add_option("--tls-key", o.tls_private_key_file, "Embedded server key (PEM)");
  cli.add_option("--seed", o.seed, "Random seed (0: pick one)");
  cli.add_option("--max-duration", max_duration_s, "Stop after this many seconds")
      ->check(CLI::Range(1, 86400));
  cli.add_option("--hold", hold_s, "idle: seconds to hold the bound sessions")
      ->check(CLI::Range(0, 86400));
  cli.add_option("--json", o.json_path, "Write the report as JSON to this file");
  cli.add_option("--html", o.html_path, "Write a self-contained HTML report to this file");
  cli.add_option("--chart-js", o.chart_js_path,
                 std::string("Chart.js 3 file inlined into the HTML report (default ") +
                     load::default_chart_js_path + ")");
  cli.add_option("--data-dir", o.data_directory, "Client (and embedded server) data directory");
  cli.add_flag("--keep-data", o.keep_data, "Keep the data directory afterwards");
  cli.add_flag("--verify", o.verify,
               "upload: a fresh replica checks every acknowledged write is stored, and no other");
  cli.add_option("--server-binary", o.server_binary,
                 "actorsync-server executable for the embedded server");
  cli.add_flag("--client-fsync", o.client_fsync, "fsync every local commit (default: WAL only)");
  cli.add_flag("--no-server-fsync{false}", o.server_fsync,
               "Embedded server without fsync (measures the runtime apart from the disk)");
}

std::string random_secret() {
  unsigned char bytes[32];
  if (RAND_bytes(bytes, sizeof bytes) != 1) throw std::runtime_error("RAND_bytes failed");
  return server::base64url_encode(std::string(reinterpret_cast<char*>(bytes), sizeof bytes));
}

// Many sessions without multiplexing need many descriptors.
void raise_descriptor_limit() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    setrlimit(RLIMIT_NOFILE, &limit);
  }
}

void write_file(const std::string& path, const std::string& text) {
  if (path.empty()) return;
  std::ofstream out(path);
  out << text;
  if (!out) throw std::runtime_error("cannot write " + path);
}

// The processes whose CPU the report shows: the tool itself, and the servers it started (for a
// cluster also PostgreSQL, its postmaster with the backends, and every nats-server).
std::vector<load::process_figures> measured_processes(const tools::server_process* embedded,
                                                      const load::embedded_cluster* cluster) {
  std::vector<load::process_figures> out{{"client", {getpid()}, 0}};
  if (embedded) out.push_back({"embedded", {embedded->pid()}, 0});
  if (cluster) {
    for (const auto& n : cluster->nodes()) out.push_back({n.id, {n.pid}, 0});
    out.push_back({"postgresql", {cluster->postgres_pid()}, 0});
    load::process_figures nats{"nats", {}, 0};
    for (const auto pid : cluster->nats_pids()) nats.pids.push_back(pid);
    out.push_back(nats);
  }
  return out;
}

std::vector<double> cpu_seconds(const std::vector<load::process_figures>& processes) {
  std::vector<double> out;
  for (const auto& p : processes) {
    double seconds = 0;
    for (const auto pid : p.pids) {
      seconds += pid == getpid()
                     ? process::cpu_seconds()
                     : load::process_cpu_seconds(static_cast<pid_t>(pid), p.name == "postgresql");
    }
    out.push_back(seconds);
  }
  return out;
}

int run(load_options options, const std::string& invocation) {
  load::run_context context;
  context.command_line = invocation;
  context.version = std::string(build_info::version);
  context.started_at_utc = process::utc_now_iso8601();
  const auto machine = process::this_machine();
  context.hostname = machine.hostname;
  context.cpu_cores = machine.cpu_cores;
  context.memory_bytes = machine.memory_bytes;
  // Before the run, so a missing library does not cost a whole run.
  std::string chart_js;
  if (!options.html_path.empty()) {
    chart_js = load::read_chart_js(options.chart_js_path.empty() ? load::default_chart_js_path
                                                                 : options.chart_js_path);
  }
  raise_descriptor_limit();
  load::install_interrupt_handler();
  if (options.seed == 0) options.seed = std::random_device{}() | 1u;

  std::optional<server::token_secret> secret;
  std::optional<tools::server_process> embedded;
  std::vector<std::string> urls = options.server_urls;
  for (const auto& url : urls) {
    if (!runtime::parse_server_url(url))
      throw std::runtime_error("--server-url '" + url + "' is not a ws:// or wss:// URL");
  }
  if (options.workload == "reset" && (!urls.empty() || options.cluster_nodes > 0)) {
    throw std::runtime_error(
        "--workload reset restores the embedded server's data directory: no --server-url or "
        "--cluster");
  }
  if (options.cluster_nodes > 0) {
    if (!urls.empty()) throw std::runtime_error("--cluster and --server-url exclude each other");
    if (options.tls) throw std::runtime_error("--cluster runs its nodes without TLS (no --tls)");
    if (!options.server_fsync) {
      throw std::runtime_error(
          "--no-server-fsync is for the embedded RocksDB server; a cluster commits to PostgreSQL");
    }
  }
  std::filesystem::path server_data;
  std::optional<load::embedded_cluster> cluster;
  if (options.cluster_nodes > 0) {
    secret.emplace(random_secret());
    std::cout << "starting an embedded cluster: PostgreSQL, NATS and " << options.cluster_nodes
              << (options.cluster_nodes == 1 ? " node\n" : " nodes\n");
    cluster.emplace(options.cluster_nodes, tools::find_server_binary(options.server_binary),
                    secret->bytes(), options.keep_data);
    urls = cluster->urls();
    for (const auto& n : cluster->nodes())
      std::cout << n.id << " pid " << n.pid << " at " << n.url << " (" << n.metrics_url << ")\n";
    std::cout << "PostgreSQL " << cluster->postgres_url() << ", NATS " << cluster->nats_urls()
              << " (files in " << cluster->directory().string() << ")\n";
  } else if (urls.empty()) {
    secret.emplace(random_secret());
    std::random_device random;
    auto so = tools::measured_server(
        tools::find_server_binary(options.server_binary),
        std::filesystem::temp_directory_path() /
            ("actorsync-load-server-" + std::to_string(getpid()) + "-" + std::to_string(random())),
        secret->bytes(), options.server_fsync);
    if (options.tls) {
      so.extra_args.insert(so.extra_args.end(),
                           {"--wss-port", "0", "--tls-cert", options.tls_certificate_file,
                            "--tls-key", options.tls_private_key_file});
    }
    so.same_port_on_restart = true;  // the reset workload restarts it under its apps
    server_data = so.data_directory;
    embedded.emplace(so);
    urls = {options.tls ? "wss://127.0.0.1:" + std::to_string(embedded->wss_port())
                        : "ws://127.0.0.1:" + std::to_string(embedded->ws_port())};
    std::cout << "embedded server pid " << embedded->pid() << " at " << urls.front() << " (data "
              << so.data_directory.string() << ")\n";
  } else if (!options.token_secret_file.empty()) {
    std::string why;
    secret = server::token_secret::from_file(options.token_secret_file, why);
    if (!secret) throw std::runtime_error("--token-secret-file: " + why);
  } else if (options.token.empty()) {
    throw std::runtime_error("--server-url needs --token or --token-secret-file");
  }

  auto token_for = [&](const std::string& user) {
    if (!secret) return options.token;
    return server::issue_token(*secret, {user, {"/load/*"}, server::unix_now() + 24 * 3600});
  };
  int status = 1;
  {
    load::load_run run(options, urls, token_for);
    auto& report = run.report();
    report.workload = options.workload;
    report.realms = options.realms;
    report.writes_per_realm = options.writes;
    report.multiplexing = options.multiplexing;
    report.connections_configured = options.multiplexing ? options.connections : options.realms;
    report.tls = options.tls;
    report.seed = options.seed;
    report.context = context;
    report.server_fsync = embedded ? options.server_fsync : true;
    report.cluster_nodes = options.cluster_nodes;
    // Memory per session is measured on the embedded server or, in a cluster, on node-0.
    const pid_t server_pid = embedded  ? embedded->pid()
                             : cluster ? cluster->nodes().front().pid
                                       : 0;
    // The servers the tool started are processes of their own: their memory over time.
    if (embedded) run.watch_server_memory("embedded", embedded->pid());
    if (cluster) {
      for (const auto& n : cluster->nodes()) run.watch_server_memory(n.id, n.pid);
    }
    auto processes =
        measured_processes(embedded ? &*embedded : nullptr, cluster ? &*cluster : nullptr);
    const auto cpu_before = cpu_seconds(processes);
    if (options.workload == "upload") load::run_upload(run, server_pid);
    if (options.workload == "idle") load::run_idle(run, server_pid);
    if (options.workload == "fanout") load::run_fanout(run, server_pid);
    if (options.workload == "churn") load::run_churn(run, server_pid);
    if (options.workload == "reset") load::run_reset(run, *embedded, server_data);
    const auto cpu_after = cpu_seconds(processes);
    for (std::size_t i = 0; i < processes.size(); ++i)
      processes[i].cpu_s = cpu_after[i] - cpu_before[i];
    report.processes = processes;
    report.latency = run.latency_snapshot();
    report.servers = run.server_usage_totals();
    for (std::size_t i = 0; i < report.servers.size(); ++i) {
      auto& s = report.servers[i];
      if (embedded) {
        s.node = "embedded";
        s.pid = embedded->pid();
        s.metrics_url = "http://127.0.0.1:" + std::to_string(embedded->metrics_port()) + "/metrics";
      } else if (cluster) {
        const auto& n = cluster->nodes().at(i);
        s.node = n.id;
        s.pid = n.pid;
        s.metrics_url = n.metrics_url;
      }
    }
    report.progress_events = run.counters().progress_events;
    report.connection_events = run.counters().connection_events;
    report.errors = run.counters().errors;
    report.transient_errors = run.counters().transient_errors;
    report.interrupted = run.interrupted();
    report.stopped_at_max_duration = run.reached_max_duration();
    load::print_table(std::cout, report);
    write_file(options.json_path, load::to_json(report));
    write_file(options.html_path, load::to_html(report, chart_js));
    status = report.passed() ? 0 : report.interrupted ? interrupted_status : 1;
  }
  if (embedded && embedded->stop() != 0) {
    std::cerr << "embedded server did not shut down cleanly\n";
    status = 1;
  }
  if (cluster && !cluster->stop()) status = 1;
  if (!server_data.empty() && !options.keep_data) {
    std::error_code ignored;
    std::filesystem::remove_all(server_data, ignored);
  }
  return status;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App cli{"actorsync-load: load-test a sync server with many realm sessions"};
  load_options options;
  std::uint64_t max_duration_s = 600, hold_s = 5;
  add_options(cli, options, max_duration_s, hold_s);
  actorsync::command_line::add_version(cli, "actorsync-load");
  if (auto status = actorsync::command_line::parse(cli, argc, argv)) return *status;
  if (cli.get_option("--realms")->count() == 0) {
    if (options.workload == "fanout") options.realms = fanout_default_realms;
    if (options.workload == "churn") options.realms = churn_default_realms;
    if (options.workload == "reset") options.realms = reset_default_realms;
  }
  options.max_duration = std::chrono::seconds(max_duration_s);
  options.hold = std::chrono::seconds(hold_s);
  try {
    return run(options, invocation_text(argc, argv));
  } catch (const std::exception& e) {
    std::cerr << "actorsync-load: " << e.what() << '\n';
    return 2;
  }
}

// Sessions over one multiplexed connection to an in-process server: open N realms, wait until
// every session's download wait is true; report time, sockets and memory per session.
// Memory: RSS growth after opening N sessions while the server is down (client only), and after
// all are bound (client + server, both in this process).
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <future>
#include <vector>

#include "api/app.hpp"
#include "api/realm.hpp"
#include "server/sync_server.hpp"
#include "server/token.hpp"

using namespace actorsync;

namespace {

const std::string secret = "bench-sessions-secret-0123456789abcdef";

std::int64_t rss_bytes() {
  std::ifstream statm("/proc/self/statm");
  std::int64_t pages = 0, resident = 0;
  statm >> pages >> resident;
  return resident * ::sysconf(_SC_PAGESIZE);
}

int open_sockets() {
  int count = 0;
  for (auto& entry : std::filesystem::directory_iterator("/proc/self/fd")) {
    std::error_code ec;
    auto target = std::filesystem::read_symlink(entry.path(), ec);
    if (!ec && target.string().starts_with("socket:")) ++count;
  }
  return count;
}

void BM_SessionsOverOneConnection(benchmark::State& state) {
  const auto count = static_cast<int>(state.range(0));
  auto root = std::filesystem::temp_directory_path() /
              ("actorsync-bench-sessions-" + std::to_string(::getpid()));
  for (auto _ : state) {
    state.PauseTiming();
    std::filesystem::remove_all(root);
    server::server_options options;
    options.data_directory = root / "server";
    options.ws = {true, "127.0.0.1", 0};
    options.wss.enabled = false;
    options.metrics.enabled = false;
    options.token_secret = secret;
    options.durable = false;
    options.max_sessions_per_connection = static_cast<std::size_t>(count) + 16;
    options.log_level = "warn";
    server::sync_server sync_server;
    auto port = sync_server.start(options).ws;
    options.ws.port = port;
    sync_server.stop();  // down while the client opens: client-only memory first

    api::app_config config;
    config.server_url = "ws://127.0.0.1:" + std::to_string(port);
    config.data_directory = root / "client";
    config.durability = storage::durability::process_crash;
    config.backoff.initial = std::chrono::milliseconds(20);
    config.backoff.maximum = std::chrono::milliseconds(200);
    config.request_timeout = std::chrono::minutes(10);
    api::app app(config);
    server::token_claims claims{"bench", {"/*"}, server::unix_now() + 3600};
    api::user_credentials user{"bench", server::issue_token(server::token_secret(secret), claims)};

    auto rss0 = rss_bytes();
    std::vector<std::shared_ptr<api::realm>> realms;
    realms.reserve(count);
    for (int i = 0; i < count; ++i)
      realms.push_back(app.open_realm("/b/" + std::to_string(i), user));
    auto rss_client = rss_bytes();
    sync_server.start(options);
    state.ResumeTiming();

    auto start = std::chrono::steady_clock::now();
    std::vector<std::future<runtime::wait_outcome>> waits;
    waits.reserve(count);
    for (auto& r : realms) waits.push_back(r->session().download_all_server_changes());
    int ok = 0;
    for (auto& w : waits) ok += bool(w.get()) ? 1 : 0;
    auto seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

    state.PauseTiming();
    auto rss_bound = rss_bytes();
    auto stats = app.statistics();
    state.counters["sessions_ok"] = ok;
    state.counters["seconds_to_all_downloaded"] = seconds;
    state.counters["client_sockets"] = static_cast<double>(stats.sockets_open);
    state.counters["process_sockets"] = open_sockets();
    state.counters["client_KiB_per_session"] = (rss_client - rss0) / 1024.0 / count;
    state.counters["client_and_server_KiB_per_bound_session"] = (rss_bound - rss0) / 1024.0 / count;
    realms.clear();
    state.ResumeTiming();
  }
  std::filesystem::remove_all(root);
}

}  // namespace

BENCHMARK(BM_SessionsOverOneConnection)
    ->Arg(1000)
    ->Arg(10000)
    ->Arg(100000)
    ->Iterations(1)
    ->Unit(benchmark::kSecond)
    ->UseRealTime();

BENCHMARK_MAIN();

// N sessions of one user against one server process (actorsync-server as a child process, so
// client and server memory are measured apart): open and bind them, and time until every
// session's download wait is true. Reports sockets and memory per session beyond a fixed base.
//
// Memory per session = (RSS with the N sessions bound and held idle for 2 s - RSS with a
// warm-up of 100 sessions bound) / N, for this process (the client) and for the server process. The
// warm-up sets the base: threads, RocksDB memtables and the connection exist before it is taken.
// RSS never shrinks back after a peak, so run one size per process (--benchmark_filter), as
// docs/BENCHMARKS.md does. `client_heap_B_per_session` is the client's live heap (mallinfo2)
// per session, without memory freed after the binding burst.
//
// Arguments: sessions, multiplexing (1 on, 0 off: one socket per session), durable server
// (1: fsync, the default; 0: --no-fsync).
#include <benchmark/benchmark.h>
#include <malloc.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <future>
#include <random>
#include <thread>
#include <vector>

#include <actorsync/api/app.hpp>
#include <actorsync/api/realm.hpp>
#include <actorsync/server/token.hpp>
#include "tools/server_process/server_process.hpp"

using namespace actorsync;

namespace {

constexpr int warm_up_sessions = 100;
constexpr auto idle_hold = std::chrono::seconds(2);

std::int64_t rss_bytes(pid_t pid = 0) {
  std::ifstream statm(pid == 0 ? std::string("/proc/self/statm")
                               : "/proc/" + std::to_string(pid) + "/statm");
  std::int64_t pages = 0, resident = 0;
  statm >> pages >> resident;
  return resident * ::sysconf(_SC_PAGESIZE);
}

std::int64_t heap_in_use() {
  return static_cast<std::int64_t>(::mallinfo2().uordblks);
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

using realm_list = std::vector<std::shared_ptr<api::realm>>;

void open_realms(api::app& app, const api::user_credentials& user, const std::string& prefix,
                 int count, realm_list& into) {
  for (int i = 0; i < count; ++i) into.push_back(app.open_realm(prefix + std::to_string(i), user));
}

/// Issues every download wait at once, then collects them; returns how many were true.
int all_downloaded(const realm_list& realms, std::size_t from) {
  std::vector<std::future<runtime::wait_outcome>> waits;
  waits.reserve(realms.size() - from);
  for (auto i = from; i < realms.size(); ++i)
    waits.push_back(realms[i]->session().download_all_server_changes(std::chrono::minutes(10)));
  int ok = 0;
  for (auto& w : waits) ok += bool(w.get()) ? 1 : 0;
  return ok;
}

std::filesystem::path fresh_root() {
  std::random_device random;
  auto root =
      std::filesystem::temp_directory_path() /
      ("actorsync-bench-sessions-" + std::to_string(::getpid()) + "-" + std::to_string(random()));
  std::filesystem::create_directories(root);
  return root;
}

void BM_SessionsToOneServer(benchmark::State& state) {
  const auto count = static_cast<int>(state.range(0));
  const bool multiplexing = state.range(1) != 0;
  const bool durable = state.range(2) != 0;
  const auto recorder_events = static_cast<std::size_t>(state.range(3));
  const std::string secret = "bench-sessions-secret-0123456789abcdef";
  for (auto _ : state) {
    state.PauseTiming();
    const auto root = fresh_root();
    auto server = std::make_unique<tools::server_process>(
        tools::measured_server(tools::find_server_binary(""), root / "server", secret, durable));

    api::app_config config;
    config.server_url = "ws://127.0.0.1:" + std::to_string(server->ws_port());
    config.data_directory = root / "client";
    config.durability = storage::durability::process_crash;
    config.session_multiplexing = multiplexing;
    config.linger = std::chrono::milliseconds(0);
    config.flight_recorder_events = recorder_events;
    auto app = std::make_unique<api::app>(config);
    server::token_claims claims{"bench", {"/*"}, server::unix_now() + 3600};
    api::user_credentials user{"bench", server::issue_token(server::token_secret(secret), claims)};

    realm_list realms;
    realms.reserve(warm_up_sessions + count);
    open_realms(*app, user, "/warm-up/", warm_up_sessions, realms);
    const int warm_ok = all_downloaded(realms, 0);
    const auto client0 = rss_bytes(), heap0 = heap_in_use(), server0 = rss_bytes(server->pid());
    state.ResumeTiming();

    const auto start = std::chrono::steady_clock::now();
    open_realms(*app, user, "/bench/", count, realms);
    const int ok = all_downloaded(realms, warm_up_sessions);
    const auto seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

    state.PauseTiming();
    // Idle: the sessions are held a moment before measuring, as an app holding them would be
    // (the runtime gives the burst's freed memory back to the OS once its links are quiet).
    std::this_thread::sleep_for(idle_hold);
    const auto per_session = [count](std::int64_t now, std::int64_t base) {
      return static_cast<double>(now - base) / count;
    };
    state.counters["sessions_ok"] = ok + warm_ok;
    state.counters["s_to_all_downloaded"] = seconds;
    state.counters["client_B_per_session"] = per_session(rss_bytes(), client0);
    state.counters["client_heap_B_per_session"] = per_session(heap_in_use(), heap0);
    state.counters["server_B_per_session"] = per_session(rss_bytes(server->pid()), server0);
    state.counters["client_sockets"] = static_cast<double>(app->statistics().sockets_open);
    state.counters["process_sockets"] = open_sockets();
    realms.clear();
    app.reset();
    server->stop();
    std::filesystem::remove_all(root);
    state.ResumeTiming();
  }
}

}  // namespace

BENCHMARK(BM_SessionsToOneServer)
    // recorder: flight recorder events per session (8: the default; 0: off, for comparison).
    ->ArgNames({"sessions", "mux", "durable", "recorder"})
    ->Args({1000, 1, 1, 8})
    ->Args({10000, 1, 1, 8})
    ->Args({100000, 1, 1, 8})
    ->Args({100000, 1, 1, 0})
    ->Args({10000, 1, 0, 8})
    ->Args({100000, 1, 0, 8})
    ->Args({1000, 0, 1, 8})
    ->Args({5000, 0, 1, 8})
    ->Iterations(1)
    ->Unit(benchmark::kSecond)
    ->UseRealTime();

BENCHMARK_MAIN();

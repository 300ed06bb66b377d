#include "tools/load/load_run.hpp"

#include <unistd.h>

#include <caf/all.hpp>

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <random>
#include <sstream>
#include <unordered_map>

#include <actorsync/api/app.hpp>
#include <actorsync/api/session_handle.hpp>
#include "server/process_stats.hpp"

namespace actorsync::load {

namespace {

std::atomic<bool> interrupt_requested{false};

void on_interrupt(int) {
  interrupt_requested = true;
}

std::filesystem::path fresh_directory() {
  std::random_device random;
  auto dir = std::filesystem::temp_directory_path() /
             ("actorsync-load-" + std::to_string(getpid()) + "-" + std::to_string(random()));
  std::filesystem::create_directories(dir);
  return dir;
}

// The last connection state seen per session (sessions send their changes as themselves);
// disconnected sessions are left out, so closed ones are forgotten.
using connection_map = std::unordered_map<caf::actor_addr, runtime::connection_state>;

void note_connection(live_counters* counters, connection_map& known,
                     const caf::strong_actor_ptr& session, runtime::connection_state next) {
  if (!session) return;
  const auto connected = runtime::connection_state::connected;
  const auto key = caf::actor_cast<caf::actor_addr>(session);
  auto it = known.find(key);
  const auto before = it == known.end() ? runtime::connection_state::disconnected : it->second;
  if (before != connected && next == connected) ++counters->sessions_connected;
  if (before == connected && next != connected) --counters->sessions_connected;
  if (next == runtime::connection_state::disconnected) {
    if (it != known.end()) known.erase(it);
  } else {
    known[key] = next;
  }
}

// Counts what sessions report to subscriber actors; one per client runtime. A session may be
// connected before the subscription reaches it and reports changes only, so the counter asks
// for the current state right after subscribing: the reply follows every change reported before
// it and precedes every later one (one sender, one receiver: CAF keeps the order).
caf::behavior event_counter(caf::event_based_actor* self, live_counters* counters) {
  self->set_default_handler(caf::drop);
  auto known = std::make_shared<connection_map>();
  return {
      [self, counters, known](const caf::actor& session) {
        // anon_send: its reply (a token) is not needed; it still precedes the request below.
        caf::anon_send(session, runtime::subscribe_connection_atom_v,
                       caf::actor_cast<runtime::connection_observer>(self));
        self->request(session, caf::infinite, runtime::get_state_atom_v)
            .then(
                [self, counters, known](const runtime::session_snapshot& s) {
                  note_connection(counters, *known, self->current_sender(), s.connection);
                },
                [](const caf::error&) {});  // the session is gone: nothing to count
      },
      [counters](const runtime::transfer_progress&) { ++counters->progress_events; },
      [self, counters, known](const runtime::connection_state_changed& change) {
        ++counters->connection_events;
        note_connection(counters, *known, self->current_sender(), change.new_state);
      },
  };
}

}  // namespace

void install_interrupt_handler() {
  std::signal(SIGINT, on_interrupt);
  std::signal(SIGTERM, on_interrupt);
}

struct load_run::observer {
  caf::actor counter;
};

load_run::load_run(load_options options, std::vector<std::string> server_urls,
                   std::function<std::string(const std::string&)> token_for_user)
    : options_(std::move(options)),
      server_urls_(std::move(server_urls)),
      token_for_user_(std::move(token_for_user)) {
  if (options_.data_directory.empty()) {
    data_root_ = fresh_directory();
    remove_data_root_ = !options_.keep_data;
  } else {
    data_root_ = options_.data_directory;
    std::filesystem::create_directories(data_root_);
  }
}

load_run::~load_run() {
  stop_progress();
  for (auto& o : observers_) caf::anon_send_exit(o->counter, caf::exit_reason::user_shutdown);
  observers_.clear();
  apps_.clear();
  if (remove_data_root_) {
    std::error_code ignored;
    std::filesystem::remove_all(data_root_, ignored);
  }
}

api::app& load_run::make_app(const std::string& name) {
  api::app_config config;
  // App k starts its links at server k of the list (mod its size), so that with several
  // servers not every app's connections start at the first (the list stays in its order after
  // it: failover goes round robin from there).
  config.server_urls = server_urls_;
  std::rotate(
      config.server_urls.begin(),
      config.server_urls.begin() + static_cast<std::ptrdiff_t>(apps_.size() % server_urls_.size()),
      config.server_urls.end());
  config.tls_trust_file = options_.tls_trust_file;
  config.data_directory = data_root_ / name;
  config.durability =
      options_.client_fsync ? storage::durability::full : storage::durability::process_crash;
  config.session_multiplexing = options_.multiplexing;
  config.linger = std::chrono::milliseconds(0);
  config.token_provider = [this](const std::string& user) { return token_for(user); };
  config.error_handler = [this](const runtime::session_error_event& e) { record_session_error(e); };
  apps_.push_back(std::make_unique<api::app>(std::move(config)));
  auto& owner = *apps_.back();
  auto o = std::make_shared<observer>();
  o->counter = api::actor_system(owner).spawn(event_counter, &counters_);
  observers_.push_back(o);
  return owner;
}

std::string load_run::user_for(std::uint64_t realm_index) const {
  const auto links = std::max<std::uint64_t>(1, options_.connections);
  return "load-user-" + std::to_string(realm_index % links);
}

std::string load_run::realm_path(std::uint64_t realm_index) {
  return "/load/realm-" + std::to_string(realm_index);
}

void load_run::observe(api::app& owner, api::sync_session& session) {
  // The counter of `owner` is the one spawned with it (apps_ and observers_ are parallel).
  for (std::size_t i = 0; i < apps_.size(); ++i) {
    if (apps_[i].get() != &owner) continue;
    const auto& counter = observers_[i]->counter;
    auto handle = api::handle(session);
    for (auto direction :
         {runtime::progress_direction::upload, runtime::progress_direction::download}) {
      caf::anon_send(handle, runtime::subscribe_progress{
                                 direction, runtime::progress_mode::report_indefinitely,
                                 caf::actor_cast<runtime::progress_subscriber>(counter)});
    }
    caf::anon_send(counter, caf::actor_cast<caf::actor>(handle));  // connection state
    return;
  }
}

std::vector<server_usage> load_run::server_usage_totals() {
  std::vector<server_usage> out;
  for (const auto& url : server_urls_) {
    server_usage s;
    s.url = url;
    out.push_back(s);
  }
  for (std::size_t k = 0; k < apps_.size(); ++k) {
    const auto servers = apps_[k]->connection_statistics().servers;
    // App k's list is the run's list rotated by k (make_app).
    for (std::size_t i = 0; i < servers.size() && i < out.size(); ++i)
      out[(i + k) % out.size()].connects += servers[i].connects;
  }
  std::lock_guard lock(errors_mutex_);
  for (auto& s : out) {
    auto found = errors_by_server_.find(s.url);
    if (found != errors_by_server_.end()) s.errors = found->second;
  }
  return out;
}

void load_run::record_latency(std::chrono::microseconds latency) {
  std::lock_guard lock(latency_mutex_);
  latency_.record(latency);
  interval_latency_.record(latency);
}

latency_histogram load_run::latency_snapshot() {
  std::lock_guard lock(latency_mutex_);
  return latency_;
}

void load_run::record_error(const std::string& what) {
  ++counters_.errors;
  std::lock_guard lock(errors_mutex_);
  if (report_.error_samples.size() < 10) report_.error_samples.push_back(what);
}

void load_run::record_session_error(const runtime::session_error_event& event) {
  auto what =
      event.realm + ": " + std::string(runtime::to_string(event.code)) + " " + event.message;
  if (!event.server_url.empty()) what += " (at " + event.server_url + ")";
  if (event.fatal) {
    record_error(what);
  } else {
    ++counters_.transient_errors;
  }
  std::lock_guard lock(errors_mutex_);
  if (!event.fatal && report_.transient_error_samples.size() < 10)
    report_.transient_error_samples.push_back(what);
  if (!event.server_url.empty()) ++errors_by_server_[event.server_url];
}

bool load_run::interrupted() const {
  return interrupt_requested.load();
}

bool load_run::should_stop() const {
  return interrupted() || reached_max_duration();
}

bool load_run::reached_max_duration() const {
  return clock::now() - started_ > options_.max_duration;
}

bool load_run::settling_over() const {
  return interrupted() || clock::now() - started_ > options_.max_duration + settle_time();
}

double load_run::elapsed_s() const {
  return std::chrono::duration<double>(clock::now() - started_).count();
}

void load_run::watch_server_memory(const std::string& name, pid_t pid) {
  if (pid > 0) report_.server_memory.push_back({name, pid, {}});
}

void load_run::start_progress(std::uint64_t sessions_expected, std::uint64_t writes_expected) {
  sessions_expected_ = sessions_expected;
  writes_expected_ = writes_expected;
  sample_server_memory();
  progress_running_ = true;
  progress_thread_ = std::thread([this] { progress_loop(); });
}

void load_run::stop_progress() {
  if (!progress_running_.exchange(false)) return;
  progress_thread_.join();
  sample_timeline();
  sample_server_memory();
  collect_client_metrics();
}

void load_run::collect_client_metrics() {
  auto& out = report_.client_metrics;
  for (auto& app : apps_) {
    std::istringstream lines(app->metrics_text());
    std::string line;
    while (std::getline(lines, line)) {
      const auto space = line.rfind(' ');
      if (line.empty() || line[0] == '#' || space == std::string::npos) continue;
      const auto name = line.substr(0, space);
      const auto value = std::stod(line.substr(space + 1));
      auto& slot = out[name];
      slot = name.find("oldest") != std::string::npos ? std::max(slot, value) : slot + value;
    }
  }
}

void load_run::sample_server_memory() {
  if (report_.server_memory.empty()) return;
  const auto elapsed = elapsed_s();
  for (auto& series : report_.server_memory) {
    const auto rss = process::resident_bytes(static_cast<pid_t>(series.pid));
    if (rss > 0) series.samples.push_back({elapsed, rss});  // 0: the process is gone
  }
  // On a fixed grid from the first reading (5, 10, 15 s ... each read at the progress tick
  // after it), so the readings do not drift by a tick each.
  const auto interval = std::chrono::duration_cast<clock::duration>(
      std::chrono::duration<double>(server_memory_interval_s));
  const auto now = clock::now();
  next_memory_sample_ =
      next_memory_sample_ == clock::time_point{} ? now + interval : next_memory_sample_ + interval;
  if (next_memory_sample_ <= now) next_memory_sample_ = now + interval;
}

void load_run::sample_timeline() {
  timeline_point point;
  {
    std::lock_guard lock(latency_mutex_);
    point.latency = interval_latency_;
    interval_latency_ = latency_histogram{};
  }
  point.elapsed_s = elapsed_s();
  point.writes_acked = counters_.writes_acked.load();
  point.writes_committed = counters_.writes_committed.load();
  point.sessions_bound = counters_.sessions_connected.load();
  point.errors = counters_.errors.load();
  // A last interval of a fraction of a second would show its rates as spikes: it joins the
  // previous one.
  auto& timeline = report_.timeline;
  if (!timeline.empty() && point.elapsed_s - timeline.back().elapsed_s < 0.25) {
    point.latency.merge(timeline.back().latency);
    timeline.back() = std::move(point);
    return;
  }
  timeline.push_back(std::move(point));
}

// One line a second: rewritten in place on a terminal, appended otherwise.
void load_run::progress_loop() {
  const bool terminal = isatty(STDOUT_FILENO) != 0;
  std::uint64_t last_acked = 0;
  auto next = clock::now();
  while (progress_running_) {
    next += std::chrono::seconds(1);
    while (progress_running_ && clock::now() < next)
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    if (!progress_running_) break;  // stop_progress() takes the last sample
    const auto acked = counters_.writes_acked.load();
    sample_timeline();
    if (clock::now() >= next_memory_sample_) sample_server_memory();
    const auto p99 = latency_snapshot().percentile(0.99);
    std::printf(
        "%s[%6.1fs] connected %llu/%llu  acked %llu/%llu  rate %llu/s  p99 %.2f ms  errors %llu%s",
        terminal ? "\r" : "", elapsed_s(),
        static_cast<unsigned long long>(counters_.sessions_connected.load()),
        static_cast<unsigned long long>(sessions_expected_), static_cast<unsigned long long>(acked),
        static_cast<unsigned long long>(writes_expected_),
        static_cast<unsigned long long>(acked - last_acked),
        static_cast<double>(p99.count()) / 1000.0,
        static_cast<unsigned long long>(counters_.errors.load()), terminal ? "   " : "\n");
    std::fflush(stdout);
    last_acked = acked;
  }
  if (terminal) std::printf("\n");
}

}  // namespace actorsync::load

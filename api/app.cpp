#include <actorsync/api/app.hpp>

#include <spdlog/spdlog.h>
#include <caf/all.hpp>

#include <actorsync/api/session_handle.hpp>
#include "actors/fleet_monitor.hpp"
#include "api/runtime_bridge.hpp"

namespace actorsync::api {

runtime_system_config::runtime_system_config(std::size_t threads) {
  set("scheduler.policy", caf::atom("sharing"));
  set("scheduler.max-threads",
      static_cast<std::int64_t>(threads == 0 ? runtime::tuning::scheduler_threads : threads));
  add_runtime_types(*this);
}

void add_runtime_types(caf::actor_system_config& config) {
  config.add_message_types<caf::id_block::actorsync_runtime>();
}

/// Builds apps that run in the application's actor system (app.hpp keeps CAF out of its API).
struct app_factory {
  static std::unique_ptr<app> in(caf::actor_system& host, app_config config) {
    return std::unique_ptr<app>(new app(std::make_unique<app::impl>(std::move(config), &host)));
  }
};

std::unique_ptr<app> make_app(caf::actor_system& host, app_config config) {
  return app_factory::in(host, std::move(config));
}

invalid_server_url::invalid_server_url(std::string entry, std::string url)
    : usage_error(url.empty() ? entry + " is empty, not a ws:// or wss:// URL"
                              : entry + " is not a ws:// or wss:// URL: " + url),
      entry_(std::move(entry)),
      url_(std::move(url)) {}

namespace {

/// server_url (when set), then server_urls, in that order.
std::vector<std::string> configured_urls(const app_config& config) {
  std::vector<std::string> out;
  if (!config.server_url.empty()) out.push_back(config.server_url);
  out.insert(out.end(), config.server_urls.begin(), config.server_urls.end());
  return out;
}

/// Every configured URL parsed; throws invalid_server_url naming the first bad entry.
std::vector<runtime::server_url> parse_or_throw(const app_config& config) {
  if (config.server_url.empty() && config.server_urls.empty())
    throw invalid_server_url("server_url", "");  // no server at all
  std::vector<runtime::server_url> out;
  if (!config.server_url.empty()) {
    auto parsed = runtime::parse_server_url(config.server_url);
    if (!parsed) throw invalid_server_url("server_url", config.server_url);
    out.push_back(std::move(*parsed));
  }
  for (std::size_t i = 0; i < config.server_urls.size(); ++i) {
    auto parsed = runtime::parse_server_url(config.server_urls[i]);
    if (!parsed)
      throw invalid_server_url("server_urls[" + std::to_string(i) + "]", config.server_urls[i]);
    out.push_back(std::move(*parsed));
  }
  return out;
}

}  // namespace

app::impl::impl(app_config cfg, caf::actor_system* host)
    : config(std::move(cfg)),
      log(runtime::make_runtime_logger(config.log_handler, config.log_level)),
      url_texts(std::make_shared<const std::vector<std::string>>(configured_urls(config))),
      urls(parse_or_throw(config)),
      own_config(host ? nullptr
                      : std::make_unique<runtime_system_config>(config.scheduler_threads)),
      own_system(host ? nullptr : std::make_unique<caf::actor_system>(*own_config)),
      system(host ? *host : *own_system),
      multiplexing(config.session_multiplexing) {
  if (config.max_sessions_per_connection == 0)
    throw usage_error("max_sessions_per_connection must be at least 1");
  if (config.flight_recorder_events > runtime::tuning::max_flight_recorder_events)
    throw usage_error("flight_recorder_events is " + std::to_string(config.flight_recorder_events) +
                      ", more than the maximum of " +
                      std::to_string(runtime::tuning::max_flight_recorder_events));
  io = std::make_unique<runtime::io_runtime>(
      runtime::tls_settings{config.tls_trust_file, config.verify_tls});
  runtime::connection_manager_config mc;
  mc.urls = urls;
  mc.io = io.get();
  mc.connect_timeout = config.connect_timeout;
  mc.ping_interval = config.ping_interval;
  mc.pong_timeout = config.pong_timeout;
  mc.linger = config.linger;
  mc.max_sessions_per_link = config.max_sessions_per_connection;
  mc.release_after_sessions = config.release_memory_after_sessions;
  mc.backoff = config.backoff;
  mc.log = log;
  manager = runtime::spawn_connection_manager(system, mc);
  bridge = spawn_bridge(system, tickets);
  storage::database_options options;
  options.commit_durability = config.durability;
  options.min_free_bytes = config.min_free_disk_bytes;
  auto db = storage::database::open(config.data_directory, options);
  if (!db)
    throw std::runtime_error("cannot open " + config.data_directory.string() + ": " +
                             db.error().message);
  database = db.value();
  if (config.error_handler) error_forwarder = spawn_error_forwarder(system, config.error_handler);
}

app::app(app_config config) : impl_(std::make_unique<impl>(std::move(config), nullptr)) {
  start_metrics_endpoint();
}

app::impl::~impl() {
  endpoint.reset();  // no scrape reaches the runtime while it stops
  // Sessions first (they deliver their promises), then sockets, then the I/O thread; the actor
  // system is destroyed last, once no handler can reach it.
  for (auto& [token, observer] : fleet_observers) {
    observer.second.gate->close();
    caf::anon_send_exit(observer.second.forwarder, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(observer.first, caf::exit_reason::user_shutdown);
  }
  for (auto& session : sessions->all())
    caf::anon_send_exit(session, caf::exit_reason::user_shutdown);
  {
    // Wait until the manager handed every socket back to the I/O thread before stopping it.
    caf::scoped_actor waiter{system};
    waiter->request(manager, runtime::tuning::internal_request_timeout, runtime::shutdown_atom_v)
        .receive([](bool) {}, [](caf::error&) {});
  }
  manager = nullptr;
  caf::anon_send_exit(bridge, caf::exit_reason::user_shutdown);
  bridge = nullptr;
  if (error_forwarder) caf::anon_send_exit(error_forwarder, caf::exit_reason::user_shutdown);
  error_forwarder = nullptr;
  io->stop();
}

runtime::bridge_actor spawn_bridge(caf::actor_system& system,
                                   std::shared_ptr<wait_tickets> tickets) {
  auto behavior = [](runtime::bridge_actor::pointer self,
                     std::shared_ptr<wait_tickets> waits) -> runtime::bridge_actor::behavior_type {
    self->set_default_handler(caf::drop);  // replies to forwarded requests
    self->set_down_handler([waits](caf::down_msg& down) { waits->session_down(down.source); });
    return {
        [](const runtime::forward_in_order& job) { caf::anon_send(job.target, job.content); },
        [self, waits](const runtime::issue_wait& wait) { waits->issue(self, wait); },
        [self, waits](const runtime::wait_done& done) { waits->complete(self, done); },
    };
  };
  return system.spawn(behavior, std::move(tickets));
}

caf::actor spawn_error_forwarder(caf::actor_system& system,
                                 std::function<void(const runtime::session_error_event&)> handler) {
  auto behavior = [](caf::event_based_actor* self,
                     std::function<void(const runtime::session_error_event&)> to) -> caf::behavior {
    self->set_default_handler(caf::drop);
    return {[to](const runtime::session_error_event& e) { to(e); }};
  };
  return system.spawn(behavior, std::move(handler));
}

void session_registry::add(const std::shared_ptr<session_registry>& registry,
                           const std::string& path, const runtime::session_actor& session,
                           std::shared_ptr<runtime::published_status> status) {
  {
    std::lock_guard lock(registry->mutex_);
    registry->sessions_.emplace(session.id(), entry{session, std::move(status)});
    registry->latest_[path] = session;
  }
  // Runs on the session's thread as it terminates (at once if it already has). The registry
  // is shared so that it outlives the app's members while the actor system shuts down.
  session->attach_functor(
      [weak = std::weak_ptr<session_registry>(registry), id = session.id(), path] {
        if (auto r = weak.lock()) r->remove(id, path);
      });
}

void session_registry::remove(caf::actor_id id, const std::string& path) {
  runtime::session_actor gone, gone_latest;  // released after the lock
  std::lock_guard lock(mutex_);
  if (auto i = sessions_.find(id); i != sessions_.end()) {
    // A session killed without its exit handler published nothing: it is inactive now.
    i->second.status->publish(runtime::session_state::inactive);
    i->second.status->set_connection(runtime::connection_state::disconnected);
    // On the session's thread as it terminates: it updates its share no more.
    fleet->remove(i->second.status->fleet, i->second.status.get());
    gone = std::move(i->second.actor);
    sessions_.erase(i);
  }
  if (auto i = latest_.find(path); i != latest_.end() && i->second.id() == id) {
    gone_latest = std::move(i->second);
    latest_.erase(i);
  }
}

std::vector<runtime::session_actor> session_registry::all() const {
  std::lock_guard lock(mutex_);
  std::vector<runtime::session_actor> out;
  out.reserve(sessions_.size());
  for (const auto& [id, session] : sessions_) out.push_back(session.actor);
  return out;
}

void session_registry::count_states(runtime_statistics& out) const {
  std::lock_guard lock(mutex_);
  for (const auto& [id, session] : sessions_) {
    switch (session.status->state()) {
      case runtime::session_state::active:
        ++out.sessions_active;
        break;
      case runtime::session_state::paused:
        ++out.sessions_paused;
        break;
      case runtime::session_state::inactive:
        ++out.sessions_inactive;
        break;
    }
  }
}

runtime::session_actor session_registry::latest(const std::string& path) const {
  std::lock_guard lock(mutex_);
  auto i = latest_.find(path);
  return i == latest_.end() ? runtime::session_actor{} : i->second;
}

std::size_t session_registry::size() const {
  std::lock_guard lock(mutex_);
  return sessions_.size();
}

app::app(std::unique_ptr<impl> state) : impl_(std::move(state)) {
  start_metrics_endpoint();
}

app::~app() = default;

void sync_settings::enable_session_multiplexing() {
  auto& st = owner_.internals();
  std::lock_guard lock(st.mutex);
  if (st.session_opened && !st.multiplexing)
    throw usage_error("session multiplexing cannot change after the first session opened");
  st.multiplexing = true;
}

void sync_settings::disable_session_multiplexing() {
  auto& st = owner_.internals();
  std::lock_guard lock(st.mutex);
  if (st.session_opened && st.multiplexing)
    throw usage_error("session multiplexing cannot change after the first session opened");
  st.multiplexing = false;
}

bool sync_settings::session_multiplexing() const {
  auto& st = owner_.internals();
  std::lock_guard lock(st.mutex);
  return st.multiplexing;
}

namespace {

// A closed realm's session may still be uploading when the realm is opened again. Its changes
// are on disk, so it is stopped now and the new session uploads them from the last
// acknowledged version; two sessions never share a store.
void stop_previous_session(app::impl& st, const std::string& path) {
  auto previous = st.sessions->latest(path);
  if (!previous) return;
  caf::scoped_actor self{st.system};
  self->monitor(previous);
  self->send(previous, runtime::close_session{true});
  bool stopped = false;
  self->receive_while([&stopped] { return !stopped; })(
      [&stopped](caf::down_msg&) { stopped = true; }, [](bool) {},
      caf::after(runtime::tuning::internal_request_timeout) >> [&stopped] { stopped = true; });
}

// One provider per user, shared by that user's sessions: a per-session copy of the token (or of
// the app's provider and the user id) cost each session a few hundred bytes. A session keeps
// the token it was opened with; opening with a new token gives later sessions the new one.
std::shared_ptr<const std::function<std::string()>> token_provider_for(
    app::impl& st, const user_credentials& user) {
  auto& cached = st.token_providers[user.user_id];
  if (st.config.token_provider) {
    if (!cached) {
      cached = std::make_shared<const std::function<std::string()>>(
          [provider = st.config.token_provider, id = user.user_id] { return provider(id); });
    }
  } else if (!cached || (*cached)() != user.token) {
    cached = std::make_shared<const std::function<std::string()>>(
        [token = user.token] { return token; });
  }
  return cached;
}

std::shared_ptr<const runtime::session_settings> make_session_settings(
    app::impl& st, std::string link_key, const std::string& user_id,
    std::function<std::string()> provider) {
  auto settings = std::make_shared<runtime::session_settings>();
  settings->connection_manager = st.manager;
  settings->link_key = std::move(link_key);
  settings->token_provider = std::move(provider);
  settings->user_id = user_id;
  settings->error_handler = caf::actor_cast<runtime::error_observer>(st.error_forwarder);
  settings->default_wait_timeout = st.config.request_timeout;
  settings->ident_source = st.idents;
  settings->server_urls = st.url_texts;
  settings->log = st.log;
  settings->flight_recorder_events = st.config.flight_recorder_events;
  settings->fleet = st.sessions->fleet;
  return settings;
}

std::function<std::string()> call_shared(std::shared_ptr<const std::function<std::string()>> p) {
  return [p = std::move(p)] { return (*p)(); };
}

// With multiplexing a user's sessions share one link key and so one settings object; without,
// each session has a link (and settings) of its own.
// A realm with a token source of its own gets settings of its own (on the user's link).
std::shared_ptr<const runtime::session_settings> session_settings_for(app::impl& st,
                                                                      const user_credentials& user,
                                                                      const realm_config& config) {
  const auto link_key = st.multiplexing ? "user:" + user.user_id
                                        : "session:" + std::to_string(st.next_private_link++);
  if (config.token_provider)
    return make_session_settings(st, link_key, user.user_id, config.token_provider);
  auto provider = token_provider_for(st, user);
  if (!st.multiplexing)
    return make_session_settings(st, link_key, user.user_id, call_shared(std::move(provider)));
  auto& cached = st.session_settings[user.user_id];
  if (!cached.settings || cached.provider != provider) {
    cached.provider = provider;
    cached.settings = make_session_settings(st, link_key, user.user_id, call_shared(provider));
  }
  return cached.settings;
}

std::shared_ptr<const runtime::backpressure_config> backpressure_for(const std::string& path,
                                                                     const realm_config& config) {
  if (!config.on_backpressure) return nullptr;
  if (config.backpressure_high_water_bytes <= config.backpressure_low_water_bytes)
    throw usage_error("realm " + path + ": backpressure_high_water_bytes (" +
                      std::to_string(config.backpressure_high_water_bytes) +
                      ") must be above backpressure_low_water_bytes (" +
                      std::to_string(config.backpressure_low_water_bytes) + ")");
  auto marks = std::make_shared<runtime::backpressure_config>();
  marks->high_water_bytes = config.backpressure_high_water_bytes;
  marks->low_water_bytes = config.backpressure_low_water_bytes;
  marks->callback = config.on_backpressure;
  return marks;
}

}  // namespace

std::shared_ptr<realm> app::open_realm(const std::string& path, const user_credentials& user,
                                       const realm_config& config) {
  auto& st = *impl_;
  auto backpressure = backpressure_for(path, config);  // misuse throws before anything changes
  std::lock_guard lock(st.mutex);
  if (auto i = st.realms.find(path); i != st.realms.end()) {
    if (auto existing = i->second.lock()) return existing;
  }
  stop_previous_session(st, path);
  auto store = st.database->open_realm(path);
  if (!store) throw std::runtime_error("cannot open realm " + path + ": " + store.error().message);

  runtime::session_config sc;
  sc.realm_path = path;
  sc.store = store.value();
  sc.settings = session_settings_for(st, user, config);
  sc.status = std::make_shared<runtime::published_status>();
  // Recorded here, in the caller's thread, like pause(): the session starts from the record.
  if (config.open_paused) {
    if (auto recorded = store.value()->set_sync_paused(true); !recorded)
      throw std::runtime_error("cannot open realm " + path +
                               " paused: " + recorded.error().message);
  }
  sc.cancel_waits_on_nonfatal_error = config.cancel_waits_on_nonfatal_error;
  sc.client_reset.mode = config.client_reset_mode;
  sc.client_reset.before = config.before_client_reset;
  sc.client_reset.after = config.after_client_reset;
  sc.backpressure = std::move(backpressure);
  auto settings = sc.settings;
  auto status = sc.status;
  // Published before the session starts, so state() is right from the first call.
  if (store.value()->metadata().sync_paused) status->publish(runtime::session_state::paused);
  auto actor = runtime::spawn_session(st.system, std::move(sc));
  st.session_opened = true;
  session_registry::add(st.sessions, path, actor, status);

  auto state = std::make_unique<sync_session::impl>();
  state->owner = &st;
  state->store = store.value();
  state->actor = actor;
  state->status = std::move(status);
  state->settings = std::move(settings);
  auto opened = std::shared_ptr<realm>(new realm(store.value(), std::move(state)));
  st.realms[path] = opened;
  return opened;
}

runtime_statistics app::statistics() {
  runtime_statistics out = connection_statistics();
  impl_->sessions->count_states(out);
  return out;
}

runtime_statistics app::connection_statistics() {
  auto& st = *impl_;
  auto links = ask_blocking<runtime::link_statistics>(
      st.system, st.manager, runtime::link_statistics{}, runtime::stats_atom_v);
  runtime_statistics out;
  out.sockets_open = links.sockets_open;
  out.bytes_pending = links.bytes_pending;
  out.connects = links.connects;
  out.memory_releases = links.memory_releases;
  out.servers.resize(st.url_texts->size());
  for (std::size_t i = 0; i < out.servers.size(); ++i) {
    out.servers[i].url = (*st.url_texts)[i];
    if (i < links.links_connected_per_server.size())
      out.servers[i].links_connected = links.links_connected_per_server[i];
    if (i < links.connects_per_server.size())
      out.servers[i].connects = links.connects_per_server[i];
  }
  return out;
}

std::string app::metrics_text() {
  auto& st = *impl_;
  const auto links = ask_blocking<runtime::link_statistics>(
      st.system, st.manager, runtime::link_statistics{}, runtime::stats_atom_v);
  const auto& counters = *st.sessions->fleet;
  return render_client_metrics(counters.read(std::chrono::steady_clock::now()), counters, links,
                               *st.url_texts);
}

std::uint16_t app::metrics_port() const {
  return impl_->endpoint ? impl_->endpoint->port() : 0;
}

void app::start_metrics_endpoint() {
  auto& st = *impl_;
  if (!st.config.metrics_endpoint) return;
  st.endpoint = std::make_unique<metrics_endpoint>(
      st.config.metrics_address, st.config.metrics_port, [this] { return metrics_text(); });
}

runtime::fleet_status app::fleet() const {
  return impl_->sessions->fleet->read(std::chrono::steady_clock::now());
}

namespace {

void remove_fleet_observer(void* app_state, std::uint64_t token) {
  auto& owner = *static_cast<app::impl*>(app_state);
  std::pair<caf::actor, callback_registration> observer;
  {
    std::lock_guard lock(owner.callbacks_mutex);
    auto i = owner.fleet_observers.find(token);
    if (i == owner.fleet_observers.end()) return;
    observer = std::move(i->second);
    owner.fleet_observers.erase(i);
  }
  observer.second.gate->close();  // waits for a running callback
  caf::anon_send_exit(observer.second.forwarder, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(observer.first, caf::exit_reason::user_shutdown);
}

}  // namespace

notification_token app::add_fleet_observer(
    const runtime::fleet_observer_config& config,
    std::function<void(const runtime::fleet_event&)> callback) {
  auto& st = *impl_;
  callback_registration r;
  r.gate = std::make_shared<callback_gate>();
  r.forwarder = spawn_callback<runtime::fleet_event>(st.system, r.gate,
                                                     [callback](const runtime::fleet_event& e) {
                                                       callback(e);
                                                       return false;
                                                     });
  caf::actor monitor;
  try {
    monitor = runtime::spawn_fleet_monitor(st.system, st.sessions->fleet, config,
                                           caf::actor_cast<runtime::fleet_observer>(r.forwarder));
  } catch (const std::invalid_argument& e) {
    r.gate->close();
    caf::anon_send_exit(r.forwarder, caf::exit_reason::user_shutdown);
    throw usage_error(e.what());
  }
  std::lock_guard lock(st.callbacks_mutex);
  const auto token = st.next_notification_token++;
  st.fleet_observers.emplace(token, std::make_pair(std::move(monitor), std::move(r)));
  return notification_token(token, impl_.get(), &remove_fleet_observer);
}

runtime::session_actor handle(sync_session& session) {
  return session.internals().actor;
}

caf::actor_system& actor_system(app& owner) {
  return owner.internals().system;
}

}  // namespace actorsync::api

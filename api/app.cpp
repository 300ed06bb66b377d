#include "api/app.hpp"

#include <spdlog/spdlog.h>
#include <caf/all.hpp>

#include "api/runtime_bridge.hpp"
#include "api/session_handle.hpp"

namespace actorsync::api {

runtime_system_config::runtime_system_config(std::size_t threads) {
  set("scheduler.policy", caf::atom("sharing"));
  set("scheduler.max-threads", static_cast<std::int64_t>(threads == 0 ? 2 : threads));
  add_message_types<caf::id_block::actorsync_runtime>();
}

namespace {

runtime::server_url parse_or_throw(const std::string& url) {
  auto parsed = runtime::parse_server_url(url);
  if (!parsed) throw usage_error("server_url is not a ws:// or wss:// URL: " + url);
  return *parsed;
}

}  // namespace

app::impl::impl(app_config cfg)
    : config(std::move(cfg)),
      url(parse_or_throw(config.server_url)),
      system_config(config.scheduler_threads),
      system(system_config),
      multiplexing(config.session_multiplexing) {
  io = std::make_unique<runtime::io_runtime>(
      runtime::tls_settings{config.tls_trust_file, config.verify_tls});
  runtime::connection_manager_config mc;
  mc.url = url;
  mc.io = io.get();
  mc.connect_timeout = config.connect_timeout;
  mc.ping_interval = config.ping_interval;
  mc.pong_timeout = config.pong_timeout;
  mc.linger = config.linger;
  mc.backoff = config.backoff;
  manager = runtime::spawn_connection_manager(system, mc);
  bridge = spawn_bridge(system, tickets);
  storage::database_options options;
  options.commit_durability = config.durability;
  auto db = storage::database::open(config.data_directory, options);
  if (!db)
    throw std::runtime_error("cannot open " + config.data_directory.string() + ": " +
                             db.error().message);
  database = db.value();
}

app::impl::~impl() {
  // Sessions first (they deliver their promises), then sockets, then the I/O thread; the actor
  // system is destroyed last, once no handler can reach it.
  for (auto& session : sessions) caf::anon_send_exit(session, caf::exit_reason::user_shutdown);
  sessions.clear();
  {
    // Wait until the manager handed every socket back to the I/O thread before stopping it.
    caf::scoped_actor waiter{system};
    waiter->request(manager, std::chrono::seconds(30), runtime::shutdown_atom_v)
        .receive([](bool) {}, [](caf::error&) {});
  }
  manager = nullptr;
  caf::anon_send_exit(bridge, caf::exit_reason::user_shutdown);
  bridge = nullptr;
  io->stop();
}

caf::actor spawn_bridge(caf::actor_system& system, std::shared_ptr<wait_tickets> tickets) {
  auto behavior = [](caf::event_based_actor* self,
                     std::shared_ptr<wait_tickets> waits) -> caf::behavior {
    spdlog::debug("actorsync.api.bridge started");
    self->set_default_handler(caf::drop);
    self->set_down_handler([waits](caf::down_msg& down) { waits->session_down(down.source); });
    return {
        [self](runtime::deferred_request& job) { job.run(self); },
        [self, waits](const runtime::wait_done& done) { waits->complete(self, done); },
    };
  };
  return system.spawn(behavior, std::move(tickets));
}

app::app(app_config config) : impl_(std::make_unique<impl>(std::move(config))) {}

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
  auto previous = st.latest_session.find(path);
  if (previous == st.latest_session.end()) return;
  caf::scoped_actor self{st.system};
  self->monitor(previous->second);
  self->send(previous->second, runtime::close_session{true});
  bool stopped = false;
  self->receive_while([&stopped] { return !stopped; })(
      [&stopped](caf::down_msg&) { stopped = true; }, [](bool) {},
      caf::after(std::chrono::seconds(30)) >> [&stopped] { stopped = true; });
  st.latest_session.erase(previous);
}

}  // namespace

std::shared_ptr<realm> app::open_realm(const std::string& path, const user_credentials& user) {
  auto& st = *impl_;
  std::lock_guard lock(st.mutex);
  if (auto existing = st.realms[path].lock()) return existing;
  stop_previous_session(st, path);
  auto store = st.database->open_realm(path);
  if (!store) throw std::runtime_error("cannot open realm " + path + ": " + store.error().message);

  runtime::session_config sc;
  sc.realm_path = path;
  sc.store = store.value();
  sc.connection_manager = st.manager;
  sc.link_key = st.multiplexing ? "user:" + user.user_id
                                : "session:" + std::to_string(st.next_private_link++);
  if (st.config.token_provider) {
    sc.token_provider = [provider = st.config.token_provider, id = user.user_id] {
      return provider(id);
    };
  } else {
    sc.token_provider = [token = user.token] { return token; };
  }
  sc.default_wait_timeout = st.config.request_timeout;
  sc.cancel_waits_on_nonfatal_error = st.config.cancel_waits_on_nonfatal_error;
  sc.ident_source = st.idents;
  sc.start_paused = st.paused_paths.contains(path);
  auto actor = runtime::spawn_session(st.system, std::move(sc));
  st.session_opened = true;
  st.sessions.push_back(actor);
  st.latest_session[path] = actor;

  if (st.config.error_handler) {
    auto handler = st.config.error_handler;
    auto forward =
        [](caf::event_based_actor* self,
           std::function<void(const runtime::session_error_event&)> to) -> caf::behavior {
      self->set_default_handler(caf::drop);
      return {[to](const runtime::session_error_event& e) { to(e); }};
    };
    auto forwarder = st.system.spawn(forward, handler);
    caf::anon_send(actor, runtime::subscribe_errors_atom_v, forwarder);
  }

  auto state = std::make_unique<sync_session::impl>();
  state->owner = &st;
  state->path = path;
  state->actor = actor;
  auto opened = std::shared_ptr<realm>(
      new realm(store.value(), std::unique_ptr<sync_session>(new sync_session(std::move(state)))));
  st.realms[path] = opened;
  return opened;
}

runtime_statistics app::statistics() {
  auto& st = *impl_;
  std::vector<runtime::session_actor> sessions;
  {
    std::lock_guard lock(st.mutex);
    sessions = st.sessions;
  }
  runtime_statistics out;
  for (auto& session : sessions) {
    runtime::session_snapshot none;
    none.state = runtime::session_state::inactive;
    auto snap =
        ask_now<runtime::session_snapshot>(st.bridge, session, none, runtime::get_state_atom_v);
    switch (snap.state) {
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
  auto links = ask_now<runtime::link_statistics>(st.bridge, st.manager, runtime::link_statistics{},
                                                 runtime::stats_atom_v);
  out.sockets_open = links.sockets_open;
  out.bytes_pending = links.bytes_pending;
  out.connects = links.connects;
  return out;
}

runtime::session_actor handle(sync_session& session) {
  return session.internals().actor;
}

caf::actor_system& actor_system(app& owner) {
  return owner.internals().system;
}

}  // namespace actorsync::api

#include <actorsync/server/sync_server.hpp>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <caf/all.hpp>
#include <optional>
#include <stdexcept>
#include <thread>
#include <vector>

#include "cluster/pg_history_store.hpp"
#include "server/cluster_service.hpp"
#include "server/listeners.hpp"
#include "server/process_stats.hpp"
#include "server/realm_directory.hpp"
#include "server/server_messages.hpp"

namespace actorsync::server {

namespace net = boost::asio;

struct sync_server::impl {
  std::shared_ptr<server_metrics> metrics = std::make_shared<server_metrics>();
  std::shared_ptr<server_context> context;
  std::unique_ptr<caf::actor_system_config> config;
  std::unique_ptr<caf::actor_system> system;
  realm_directory_actor directory;
  std::unique_ptr<net::io_context> io;
  std::optional<net::executor_work_guard<net::io_context::executor_type>> work;
  std::vector<std::thread> io_threads;
  std::vector<std::shared_ptr<listener>> listeners;
  bound_ports ports;
  bool running = false;

  void start_actors(const server_options& options) {
    config = std::make_unique<caf::actor_system_config>();
    config->set("scheduler.policy", caf::atom("sharing"));
    config->set("scheduler.max-threads", options.actor_threads);
    system = std::make_unique<caf::actor_system>(*config);
    directory = spawn_realm_directory(*system, context);
    if (context->cluster) {
      if (auto attached = context->cluster->attach(directory); !attached) {
        throw std::runtime_error("cluster.nats_urls: " + attached.error().message);
      }
    }
  }

  void start_io(const server_options& options) {
    io = std::make_unique<net::io_context>(static_cast<int>(options.io_threads));
    work.emplace(net::make_work_guard(*io));
    for (std::size_t i = 0; i < options.io_threads; ++i) {
      io_threads.emplace_back([this] { io->run(); });
    }
  }

  void start_listeners(const server_options& options) {
    if (options.ws.enabled) {
      listeners.push_back(start_sync_listener(*io, options.ws, false, *system, directory, context));
      ports.ws = listeners.back()->port();
    }
    if (options.wss.enabled) {
      listeners.push_back(start_sync_listener(*io, options.wss, true, *system, directory, context));
      ports.wss = listeners.back()->port();
    }
    if (options.metrics.enabled) {
      listeners.push_back(start_metrics_listener(*io, options.metrics, metrics));
      ports.metrics = listeners.back()->port();
    }
  }

  // One shutdown step: the directory fans `step` out and answers when all are done.
  template <class Step>
  void shutdown_step(Step step, const char* what) {
    caf::scoped_actor self{*system};
    const auto timeout = context->options.shutdown_timeout + tuning::shutdown_step_margin;
    self->request(directory, timeout, step)
        .receive([](shutdown_done) {},
                 [what](caf::error& e) {
                   spdlog::warn("shutdown step '{}' incomplete: {}", what, caf::to_string(e));
                 });
  }

  void stop_everything() {
    for (auto& l : listeners) l->close();
    if (context && context->cluster) {
      // Draining: no node chooses this one any more; its realms are released as their writes
      // finish (the drain step), and their next requests go to the nodes that take them.
      if (auto left = context->cluster->store().leave(); !left) {
        spdlog::warn("cluster: {}", left.error().message);
      }
    }
    if (directory) {
      shutdown_step(stop_reading{}, "stop reading");
      shutdown_step(drain{}, "finish integrations");
      if (context->cluster) context->cluster->detach();
      shutdown_step(goodbye{}, "close connections");
      caf::anon_send_exit(directory, caf::exit_reason::user_shutdown);
      directory = nullptr;
    }
    listeners.clear();
    // Sockets go before the actor system (handlers hold actor addresses), the store last.
    work.reset();
    if (io) io->stop();
    for (auto& t : io_threads) t.join();
    io_threads.clear();
    // Every actor got its exit; once they are gone the store may close (draining what is still
    // queued: its callbacks only message actors, which needs the system alive). Wait for them
    // before destroying the io_context: a terminating connection actor may drop the last
    // reference to its socket, and closing a socket while ~io_context tears the reactor down
    // is a data race (ThreadSanitizer caught it; a use-after-free once the reactor is gone).
    if (system) system->await_all_actors_done();
    io.reset();
    context.reset();
    system.reset();
    config.reset();
    ports = {};
  }
};

namespace {

// RocksDB under data_directory, or PostgreSQL when a URL is configured (docs/cluster.md).
std::shared_ptr<storage::history_store> open_history_store(const server_options& options) {
  if (!options.postgres_url.empty()) {
    cluster::pg_options pg;
    pg.url = options.postgres_url;
    pg.node_id = options.node_id;
    pg.lease_time = options.lease_time;
    pg.group_commit_window = options.group_commit_window;
    auto store = cluster::pg_history_store::open(pg);
    if (!store) throw std::runtime_error("cluster.postgres_url: " + store.error().message);
    return store.value();
  }
  storage::history_options store_options;
  store_options.durable = options.durable;
  store_options.group_commit_window = options.group_commit_window;
  store_options.min_free_bytes = options.min_free_disk_mib << 20;
  store_options.warn = [](const std::string& what) { spdlog::warn("history store: {}", what); };
  auto store = storage::history_store::open(options.data_directory, store_options);
  if (!store && store.error().code == storage::storage_errc::storage_full) {
    throw data_directory_error(
        data_directory_error::cause::disk_full,
        "data_directory: " + store.error().message + " (or lower storage.min_free_disk_mb)");
  }
  // A damaged log (or any damage RocksDB finds while opening) needs a person, not a restart.
  if (!store && store.error().code == storage::storage_errc::corruption) {
    throw data_directory_error(data_directory_error::cause::damaged,
                               "data_directory: '" + options.data_directory.string() +
                                   "' is damaged: " + store.error().message);
  }
  if (!store) {
    throw std::runtime_error("data_directory: cannot open '" + options.data_directory.string() +
                             "': " + store.error().message);
  }
  return store.value();
}

// With NATS URLs, this node serves any client and reaches every realm's owner over the bus.
std::shared_ptr<cluster_service> join_cluster(
    const server_options& options, const std::shared_ptr<storage::history_store>& store) {
  if (options.nats_urls.empty()) return nullptr;
  auto pg = std::dynamic_pointer_cast<cluster::pg_history_store>(store);
  auto service = cluster_service::start(options.nats_urls, std::move(pg), options.lease_time);
  if (!service) throw std::runtime_error("cluster.nats_urls: " + service.error().message);
  return service.value();
}

}  // namespace

sync_server::sync_server() : impl_(std::make_unique<impl>()) {}

namespace {

/// The secret and every configured public key; a key file that cannot be used stops the start
/// naming the option and the cause.
token_verifier make_token_verifier(const server_options& options) {
  token_verifier verifier{token_secret(options.token_secret)};
  for (const auto& file : options.token_public_key_files) {
    std::string why;
    auto key = token_public_key::from_file(file, why);
    if (!key) throw std::runtime_error("auth.public_key_files: " + why);
    verifier.add_public_key(std::move(*key));
  }
  return verifier;
}

struct socket_limits {
  std::size_t connections = 0;
  std::size_t pending = 0;
};

// Connections and pending upgrades never take the descriptors the server needs for its own
// files (tuning::descriptor_reserve): the configured limits are lowered to what is left.
socket_limits client_socket_limits(const server_options& options) {
  const auto capacity = socket_capacity(tuning::descriptor_reserve);
  if (capacity < tuning::min_client_sockets) {
    throw std::runtime_error(
        "limits: the file descriptor limit (" + std::to_string(process::max_descriptors()) +
        ") leaves " + std::to_string(capacity) + " for client connections beside the " +
        std::to_string(tuning::descriptor_reserve) +
        " kept for RocksDB and the server's own files; raise it (ulimit -n, or LimitNOFILE= in "
        "the systemd unit)");
  }
  socket_limits limits;
  limits.pending = std::min(options.max_pending_upgrades,
                            std::max<std::size_t>(1, capacity / tuning::pending_share_divisor));
  limits.connections = std::min(options.max_connections, capacity - limits.pending);
  if (limits.connections < options.max_connections ||
      limits.pending < options.max_pending_upgrades) {
    spdlog::warn(
        "the file descriptor limit ({}) holds {} client sockets beside the {} kept for the "
        "server's files: max_connections {} and max_pending_upgrades {} are lowered to {} and "
        "{} (raise the limit to serve more)",
        process::max_descriptors(), capacity, tuning::descriptor_reserve, options.max_connections,
        options.max_pending_upgrades, limits.connections, limits.pending);
  }
  return limits;
}

}  // namespace

sync_server::~sync_server() {
  stop();
}

bound_ports sync_server::start(const server_options& options) {
  if (impl_->running) throw std::runtime_error("server: already running");
  if (auto why = validate(options); !why.empty()) throw std::runtime_error(why);
  auto tokens = make_token_verifier(options);
  auto store = open_history_store(options);
  const auto limits = client_socket_limits(options);
  auto pending = std::make_shared<pending_upgrades>(limits.pending);
  auto budget = std::make_shared<memory_budget>(options.memory_budget_bytes != 0
                                                    ? options.memory_budget_bytes
                                                    : default_memory_budget_bytes());
  impl_->metrics->set_limit_sources(budget, pending);
  impl_->context = std::make_shared<server_context>(
      server_context{options, std::move(tokens), store, impl_->metrics,
                     join_cluster(options, store), budget, pending, limits.connections});
  if (auto cluster = impl_->context->cluster) {
    auto* metrics = impl_->metrics.get();
    impl_->metrics->set_extra_renderer(
        [cluster, metrics](std::string& out) { cluster->render_metrics(out, *metrics); });
  }
  try {
    impl_->start_actors(options);
    impl_->start_io(options);
    impl_->start_listeners(options);
  } catch (...) {
    impl_->stop_everything();
    throw;
  }
  // Constructing the system and spawning made this thread hold a reference to CAF's logger;
  // ~actor_system waits until every such reference is gone, so a stop() from another thread
  // would hang. Drop this thread's reference now.
  caf::logger::set_current_actor_system(nullptr);
  impl_->running = true;
  spdlog::info("actorsync-server started: ws={} wss={} metrics={} history={}", impl_->ports.ws,
               impl_->ports.wss, impl_->ports.metrics,
               options.postgres_url.empty() ? options.data_directory.string()
               : options.nats_urls.empty()  ? "PostgreSQL, node " + options.node_id
                                            : "PostgreSQL, cluster node " + options.node_id);
  return impl_->ports;
}

void sync_server::stop() {
  if (!impl_->running) return;
  impl_->running = false;
  spdlog::info("actorsync-server stopping");
  impl_->stop_everything();
  spdlog::info("actorsync-server stopped");
}

bool sync_server::running() const {
  return impl_->running;
}

bound_ports sync_server::ports() const {
  return impl_->ports;
}

const server_metrics& sync_server::metrics() const {
  return *impl_->metrics;
}

}  // namespace actorsync::server

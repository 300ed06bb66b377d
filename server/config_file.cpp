#include <actorsync/server/config_file.hpp>

#include "server/log_sink.hpp"

#include <toml++/toml.h>
#include <map>
#include <set>
#include <stdexcept>

#include <actorsync/server/token.hpp>

namespace actorsync::server {

namespace {

// Every key the file may hold, by section ("" = top level).
const std::map<std::string, std::set<std::string>, std::less<>> known_keys = {
    {"", {"data_directory"}},
    {"ws", {"enabled", "address", "port"}},
    {"wss", {"enabled", "address", "port"}},
    {"metrics", {"enabled", "address", "port"}},
    {"tls", {"certificate_file", "private_key_file"}},
    {"auth", {"secret_file", "public_key_files"}},
    {"limits",
     {"max_connections", "max_sessions_per_connection", "max_frame_bytes", "max_download_bytes",
      "send_queue_bytes", "send_queue_timeout_ms", "realm_idle_timeout_ms", "memory_budget_mb",
      "frame_timeout_ms", "max_pending_upgrades", "upgrade_timeout_ms"}},
    {"shutdown", {"timeout_ms"}},
    {"threads", {"io", "actors"}},
    {"storage", {"durable", "group_commit_window_us", "min_free_disk_mb"}},
    {"log", {"level", "format"}},
    {"cluster", {"postgres_url", "node_id", "lease_time_ms", "nats_urls"}},
};

[[noreturn]] void refuse(const std::string& key, const std::string& why) {
  throw std::runtime_error(key + ": " + why);
}

void check_unknown_keys(const toml::table& root) {
  for (const auto& [key, node] : root) {
    const std::string name(key.str());
    if (const auto* section = node.as_table()) {
      auto known = known_keys.find(name);
      if (known == known_keys.end() || name.empty()) refuse(name, "unknown section");
      for (const auto& [inner, value] : *section) {
        if (known->second.count(std::string(inner.str())) == 0) {
          refuse(name + "." + std::string(inner.str()), "unknown key");
        }
      }
    } else if (known_keys.at("").count(name) == 0) {
      refuse(name, "unknown key");
    }
  }
}

class config_reader {
 public:
  explicit config_reader(const toml::table& root) : root_(root) {}

  void text(const char* path, std::string& out) const {
    if (auto node = root_.at_path(path)) {
      auto v = node.value<std::string>();
      if (!v || !node.is_string()) refuse(path, "expected a string");
      out = *v;
    }
  }
  void texts(const char* path, std::vector<std::string>& out) const {
    if (auto node = root_.at_path(path)) {
      const auto* list = node.as_array();
      if (list == nullptr) refuse(path, "expected an array of strings");
      out.clear();
      for (const auto& item : *list) {
        if (!item.is_string()) refuse(path, "expected an array of strings");
        out.push_back(*item.value<std::string>());
      }
    }
  }
  void flag(const char* path, bool& out) const {
    if (auto node = root_.at_path(path)) {
      if (!node.is_boolean()) refuse(path, "expected true or false");
      out = *node.value<bool>();
    }
  }
  template <class Unsigned>
  void number(const char* path, Unsigned& out, std::uint64_t min, std::uint64_t max) const {
    if (auto node = root_.at_path(path)) {
      if (!node.is_integer()) refuse(path, "expected an integer");
      const auto v = *node.value<std::int64_t>();
      if (v < 0 || static_cast<std::uint64_t>(v) < min || static_cast<std::uint64_t>(v) > max) {
        refuse(path, "must be between " + std::to_string(min) + " and " + std::to_string(max) +
                         ", got " + std::to_string(v));
      }
      out = static_cast<Unsigned>(v);
    }
  }
  template <class Duration>
  void duration(const char* path, Duration& out, Duration max) const {
    std::uint64_t count = static_cast<std::uint64_t>(out.count());
    number(path, count, 1, static_cast<std::uint64_t>(max.count()));
    out = Duration(count);
  }
  void listener(const char* section, listener_options& out) const {
    const std::string s(section);
    flag((s + ".enabled").c_str(), out.enabled);
    text((s + ".address").c_str(), out.address);
    number((s + ".port").c_str(), out.port, 0, 65535);
  }

 private:
  const toml::table& root_;
};

}  // namespace

file_config load_config_file(const std::filesystem::path& file, file_config base) {
  toml::table root;
  try {
    root = toml::parse_file(file.string());
  } catch (const toml::parse_error& e) {
    throw std::runtime_error(file.string() + ": line " + std::to_string(e.source().begin.line) +
                             ": " + std::string(e.description()));
  }
  try {
    check_unknown_keys(root);
    config_reader r(root);
    auto& o = base.options;
    std::string data_directory = o.data_directory.string();
    r.text("data_directory", data_directory);
    o.data_directory = data_directory;
    r.listener("ws", o.ws);
    r.listener("wss", o.wss);
    r.listener("metrics", o.metrics);
    r.text("tls.certificate_file", o.tls_certificate_file);
    r.text("tls.private_key_file", o.tls_private_key_file);
    r.text("auth.secret_file", base.secret_file);
    r.texts("auth.public_key_files", o.token_public_key_files);
    r.number("limits.max_connections", o.max_connections, 1, tuning::max_connections_ceiling);
    r.number("limits.max_sessions_per_connection", o.max_sessions_per_connection, 1,
             tuning::max_sessions_per_connection_ceiling);
    r.number("limits.max_frame_bytes", o.max_frame_bytes, tuning::min_frame_bytes,
             tuning::max_frame_bytes);
    r.number("limits.max_download_bytes", o.max_download_bytes, 1, tuning::max_frame_bytes);
    r.number("limits.send_queue_bytes", o.send_queue_bytes, tuning::min_send_queue_bytes,
             tuning::max_send_queue_bytes);
    r.duration("limits.send_queue_timeout_ms", o.send_queue_timeout, tuning::longest_limit_timeout);
    r.duration("limits.realm_idle_timeout_ms", o.realm_idle_timeout, tuning::longest_limit_timeout);
    r.duration("limits.frame_timeout_ms", o.frame_timeout, tuning::longest_limit_timeout);
    r.number("limits.max_pending_upgrades", o.max_pending_upgrades, 1,
             tuning::max_connections_ceiling);
    r.duration("limits.upgrade_timeout_ms", o.upgrade_timeout, tuning::max_upgrade_timeout);
    if (root.at_path("limits.memory_budget_mb")) {
      std::size_t mib = 0;
      r.number("limits.memory_budget_mb", mib, 0, tuning::max_send_queue_bytes >> 20);
      o.memory_budget_bytes = mib << 20;  // validate() refuses a budget below the minimum
    }
    r.duration("shutdown.timeout_ms", o.shutdown_timeout, tuning::longest_shutdown_or_lease);
    r.number("threads.io", o.io_threads, 1, tuning::max_threads);
    r.number("threads.actors", o.actor_threads, 1, tuning::max_threads);
    r.flag("storage.durable", o.durable);
    std::uint64_t window = static_cast<std::uint64_t>(o.group_commit_window.count());
    if (root.at_path("storage.group_commit_window_us")) {
      r.number("storage.group_commit_window_us", window, 0,
               static_cast<std::uint64_t>(tuning::max_group_commit_window.count()));
    }
    o.group_commit_window = std::chrono::microseconds(window);
    r.number("storage.min_free_disk_mb", o.min_free_disk_mib, 0, tuning::max_min_free_disk_mib);
    r.text("log.level", o.log_level);
    r.text("log.format", base.log_format);
    if (!parse_log_format(base.log_format)) refuse("log.format", "expected \"text\" or \"json\"");
    r.text("cluster.postgres_url", o.postgres_url);
    r.text("cluster.node_id", o.node_id);
    r.duration("cluster.lease_time_ms", o.lease_time, tuning::longest_shutdown_or_lease);
    r.texts("cluster.nats_urls", o.nats_urls);
  } catch (const std::runtime_error& e) {
    throw std::runtime_error(file.string() + ": " + e.what());
  }
  return base;
}

void resolve_token_secret(server_options& options, const std::string& secret_file) {
  std::string why;
  auto secret = secret_file.empty() ? token_secret::from_environment(why)
                                    : token_secret::from_file(secret_file, why);
  if (!secret) throw std::runtime_error("auth.secret_file: " + why);
  options.token_secret = secret->bytes();
}

}  // namespace actorsync::server

#include "tests/support/sync_workload.hpp"

#include <actorsync/server/token.hpp>

namespace actorsync::testing {

bool commit_numbered(api::realm& realm, int n) {
  const auto id = "i" + std::to_string(n);
  return realm.begin_write()
      .create_object("items", id)
      .set_field("items", id, "n", static_cast<std::int64_t>(n))
      .commit()
      .ok();
}

api::user_credentials credentials_for(const std::string& user, const std::string& secret) {
  const server::token_claims claims{user, {"/*"}, server::unix_now() + 3600};
  return {user, server::issue_token(server::token_secret(secret), claims)};
}

sync_workload::sync_workload(workload_options options) : options_(std::move(options)) {
  user_ = credentials_for("fault-user", options_.token_secret);
  auto config = config_for(options_.data_directory);
  config.error_handler = [this](const runtime::session_error_event& e) {
    if (!e.fatal) return;  // retryable errors are expected under faults
    std::lock_guard lock(errors_mutex_);
    fatal_errors_.push_back(e.realm + ": " + std::string(runtime::to_string(e.code)) + " " +
                            e.message);
  };
  app_ = std::make_unique<api::app>(config);
  for (std::size_t i = 0; i < options_.realms; ++i) {
    realms_.push_back(app_->open_realm(options_.realm_prefix + "/r" + std::to_string(i), user_));
  }
}

sync_workload::~sync_workload() {
  stop_writing();
  realms_.clear();
}

api::app_config sync_workload::config_for(const std::filesystem::path& directory,
                                          const std::string& server_url) const {
  api::app_config config;
  config.server_url = server_url.empty() ? options_.server_url : server_url;
  if (server_url.empty()) config.server_urls = options_.more_server_urls;
  config.data_directory = directory;
  config.durability = storage::durability::process_crash;  // the client is not crashed here
  config.request_timeout = options_.request_timeout;
  config.connect_timeout = std::chrono::seconds(10);
  config.ping_interval = options_.ping_interval;
  config.pong_timeout = options_.pong_timeout;
  config.backoff.initial = std::chrono::milliseconds(20);
  config.backoff.maximum = std::chrono::milliseconds(200);
  config.linger = std::chrono::milliseconds(0);
  return config;
}

void sync_workload::start_writing() {
  stop_.store(false);
  writer_ = std::thread([this] { write_loop(); });
}

void sync_workload::stop_writing() {
  stop_.store(true);
  if (writer_.joinable()) writer_.join();
}

void sync_workload::write_loop() {
  std::uint64_t n = 0;
  while (!stop_.load()) {
    auto& r = *realms_[n % realms_.size()];
    const auto id = "o" + std::to_string(n);
    auto committed = r.begin_write()
                         .create_object("items", id)
                         .set_field("items", id, "n", static_cast<std::int64_t>(n))
                         .add_integer("totals", "all", "count", 1)
                         .commit();
    if (!committed.ok()) {
      std::lock_guard lock(errors_mutex_);
      fatal_errors_.push_back(r.path() + ": commit failed: " + committed.error().message);
      return;
    }
    ++committed_total_;
    if (++n % options_.wait_every == 0) waits_.push_back(r.session().upload_all_local_changes());
  }
}

std::uint64_t sync_workload::acknowledged_total() const {
  std::uint64_t total = 0;
  for (const auto& r : realms_) total += r->read().metadata().acknowledged_client_version;
  return total;
}

wait_tally sync_workload::collect_waits(std::chrono::milliseconds deadline) {
  const auto until = std::chrono::steady_clock::now() + deadline;
  wait_tally tally;
  for (auto& f : waits_) {
    if (f.wait_until(until) != std::future_status::ready) {
      ++tally.unfinished;
      continue;
    }
    switch (f.get().status) {
      case runtime::wait_status::ok:
        ++tally.ok;
        break;
      case runtime::wait_status::error:
        ++tally.error;
        break;
      case runtime::wait_status::timed_out:
        ++tally.timed_out;
        break;
      case runtime::wait_status::paused:
        ++tally.paused;
        break;
    }
  }
  waits_.clear();
  return tally;
}

std::vector<std::string> sync_workload::upload_everything() {
  return wait_everywhere([](api::realm& r) { return r.session().upload_all_local_changes(); });
}

std::vector<std::string> sync_workload::download_everything() {
  return wait_everywhere([](api::realm& r) { return r.session().download_all_server_changes(); });
}

std::vector<std::string> sync_workload::wait_everywhere(
    const std::function<std::future<runtime::wait_outcome>(api::realm&)>& wait) {
  std::vector<std::future<runtime::wait_outcome>> finals;
  for (auto& r : realms_) finals.push_back(wait(*r));
  std::vector<std::string> failed;
  const auto until = std::chrono::steady_clock::now() + options_.request_timeout;
  for (std::size_t i = 0; i < finals.size(); ++i) {
    const bool ok = finals[i].wait_until(until) == std::future_status::ready && finals[i].get();
    if (!ok) failed.push_back(realms_[i]->path());
  }
  return failed;
}

std::vector<std::string> sync_workload::fatal_errors() const {
  std::lock_guard lock(errors_mutex_);
  return fatal_errors_;
}

std::vector<replica_record> sync_workload::records() const {
  std::vector<replica_record> out;
  for (const auto& r : realms_) {
    const auto m = r->read().metadata();
    out.push_back({r->path(), m.client_file_ident, m.latest_client_version});
  }
  return out;
}

std::vector<std::string> sync_workload::check_converged(
    const std::filesystem::path& fresh_directory, const std::string& server_url) const {
  api::app fresh(config_for(fresh_directory, server_url));
  std::vector<std::shared_ptr<api::realm>> copies;
  std::vector<std::future<runtime::wait_outcome>> downloads;
  for (const auto& r : realms_) {
    copies.push_back(fresh.open_realm(r->path(), user_));
    downloads.push_back(copies.back()->session().download_all_server_changes());
  }
  std::vector<std::string> differing;
  const auto until = std::chrono::steady_clock::now() + options_.request_timeout;
  for (std::size_t i = 0; i < copies.size(); ++i) {
    const bool ok =
        downloads[i].wait_until(until) == std::future_status::ready && downloads[i].get();
    if (!ok) {
      differing.push_back(copies[i]->path() + ": download did not complete");
    } else if (copies[i]->read().content_digest() != realms_[i]->read().content_digest()) {
      differing.push_back(copies[i]->path() + ": content digests differ");
    }
  }
  for (auto& c : copies) c->close(true);
  return differing;
}

}  // namespace actorsync::testing

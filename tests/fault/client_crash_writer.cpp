// Child process of the client crash test: the real client runtime (api::app, api::realm) against
// a real server, committing transactions into one synced realm until it is SIGKILLed. Reports
// (tests/fault/support/crash_report.hpp) go to stdout, each after the fact: a commit once
// commit() returned, an acknowledgement once the store has written it. Runtime logs go to stderr.
// Durability process_crash: the WAL is written before commit returns, which is what survives
// SIGKILL.
#include <unistd.h>

#include <cstdio>
#include <string>

#include <actorsync/api/app.hpp>
#include <actorsync/api/realm.hpp>
#include "tests/fault/support/crash_report.hpp"

namespace {

using namespace actorsync;

bool report(int fd, testing::crash_report what) {
  const auto line = testing::format_report(what);
  return ::write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size());
}

api::app_config config_for(const std::string& url, const std::string& directory) {
  api::app_config config;
  config.server_url = url;
  config.data_directory = directory;
  config.durability = storage::durability::process_crash;
  config.ping_interval = std::chrono::milliseconds(1000);
  config.pong_timeout = std::chrono::milliseconds(3000);
  config.backoff.initial = std::chrono::milliseconds(20);
  config.backoff.maximum = std::chrono::milliseconds(200);
  return config;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 5) {
    std::fprintf(stderr, "usage: %s <server url> <data directory> <user id> <token>\n", argv[0]);
    return 2;
  }
  // The report pipe is stdout; anything else printing to stdout (logs) goes to stderr instead.
  const int reports = ::dup(STDOUT_FILENO);
  ::dup2(STDERR_FILENO, STDOUT_FILENO);

  api::app app(config_for(argv[1], argv[2]));
  auto realm = app.open_realm(testing::crash_realm, {argv[3], argv[4]});
  storage::version_type acknowledged = 0;
  for (;;) {
    const auto next = realm->read().metadata().latest_client_version + 1;
    const auto id = std::to_string(next);
    auto committed = realm->begin_write()
                         .create_object("txn", id)
                         .set_field("txn", id, "payload", testing::crash_payload(next))
                         .create_object("state", "s")
                         .set_field("state", "s", "last", static_cast<std::int64_t>(next))
                         .add_integer("state", "s", "count", 1)
                         .commit();
    if (!committed.ok()) {
      std::fprintf(stderr, "commit: %s\n", committed.error().message.c_str());
      return 1;
    }
    if (!report(reports, {testing::crash_report::committed, committed.value()})) return 0;
    // Acknowledgements are reported once stored (the store keeps fresh ones in memory until the
    // realm's next write or the session's persist delay).
    const auto acked = realm->read().metadata().persisted_acknowledged_client_version;
    if (acked > acknowledged) {
      acknowledged = acked;
      if (!report(reports, {testing::crash_report::acknowledged, acked})) return 0;
    }
  }
}

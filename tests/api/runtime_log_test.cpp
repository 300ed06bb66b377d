// The runtime logs through its own "actorsync" logger (issue 15): to the application's handler
// when given one, never to stdout, and not at all at log_level::off.
#include "actors/runtime_log.hpp"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <mutex>
#include <regex>
#include <string>
#include <vector>

#include <spdlog/logger.h>

#include <actorsync/api/app.hpp>
#include <actorsync/api/realm.hpp>
#include "live_server.hpp"

using namespace actorsync;
using namespace actorsync::testing;

namespace {

/// A loopback port nothing listens on (bound, then released), so connecting is refused.
std::uint16_t refused_port() {
  boost::asio::io_context io;
  boost::asio::ip::tcp::acceptor acceptor(io, {boost::asio::ip::make_address("127.0.0.1"), 0});
  return acceptor.local_endpoint().port();
}

api::app_config unreachable_server(const temp_dir& dir) {
  api::app_config config;
  config.server_url = "ws://127.0.0.1:" + std::to_string(refused_port());
  config.data_directory = dir.path() / "client";
  return config;
}

struct captured_lines {
  std::mutex mutex;
  std::vector<std::pair<runtime::log_level, std::string>> lines;
  bool contains(runtime::log_level level, const std::string& part) {
    std::lock_guard lock(mutex);
    for (const auto& [l, text] : lines)
      if (l == level && text.find(part) != std::string::npos) return true;
    return false;
  }
};

}  // namespace

TEST(RuntimeLog, TheApplicationsHandlerReceivesTheRuntimesLines) {
  temp_dir dir("runtime-log");
  captured_lines seen;
  auto config = unreachable_server(dir);
  config.log_handler = [&seen](runtime::log_level level, std::string_view message) {
    std::lock_guard lock(seen.mutex);
    seen.lines.emplace_back(level, std::string(message));
  };
  api::app app(config);
  auto realm = app.open_realm("/logged", user("alice"));
  EXPECT_TRUE(
      eventually([&] { return seen.contains(runtime::log_level::info, "connect_failed"); }));
}

TEST(RuntimeLog, NothingReachesTheHandlerBelowItsLevel) {
  auto log = runtime::make_runtime_logger(
      [](runtime::log_level, std::string_view) { FAIL() << "a line below the level arrived"; },
      runtime::log_level::warn);
  log->info("an info line");
  log->debug("a debug line");
  auto silenced = runtime::make_runtime_logger(
      [](runtime::log_level, std::string_view) { FAIL() << "a line arrived at level off"; },
      runtime::log_level::off);
  silenced->error("an error line");
}

TEST(RuntimeLog, WithoutAHandlerTheRuntimeWritesToStderrNeverStdout) {
  ::testing::internal::CaptureStdout();
  ::testing::internal::CaptureStderr();
  {
    auto log = runtime::make_runtime_logger({}, runtime::log_level::info);
    log->info("link lost: connect_failed");
    log->flush();
  }
  const auto out = ::testing::internal::GetCapturedStdout();
  const auto err = ::testing::internal::GetCapturedStderr();
  EXPECT_EQ(out, "");
  // ISO 8601 with milliseconds and the UTC offset, the level and the logger's name.
  const std::regex line(
      R"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}[+-]\d{2}:\d{2} \[info\] actorsync: link lost: connect_failed\n)");
  EXPECT_TRUE(std::regex_search(err, line)) << err;
}

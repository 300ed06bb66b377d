// The runtime logs through its own "actorsync" logger (issue 15): to the application's handler
// when given one, never to stdout, and not at all at log_level::off.
#include "actors/runtime_log.hpp"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <cctype>
#include <mutex>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include <spdlog/logger.h>

#include <actorsync/api/app.hpp>
#include <actorsync/api/realm.hpp>
#include "live_server.hpp"
#include "tests/support/local_ports.hpp"

using namespace actorsync;
using namespace actorsync::testing;

namespace {

// One refusing port for the whole test program: nothing else can take it meanwhile.
const refusing_port& unreachable_port() {
  static const refusing_port port;
  return port;
}

api::app_config unreachable_server(const temp_dir& dir) {
  api::app_config config;
  config.server_url = ws_url(unreachable_port().port());
  config.data_directory = dir.path() / "client";
  return config;
}

/// True when `text` has the shape of `pattern`: '#' stands for a digit, '?' for '+' or '-'
/// (a UTC offset), every other character for itself. (No std::regex: GCC 12 warns falsely
/// inside it under -fsanitize=address.)
bool matches_shape(std::string_view text, std::string_view pattern) {
  if (text.size() != pattern.size()) return false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    const char p = pattern[i];
    if (p == '#'   ? !std::isdigit(static_cast<unsigned char>(c))
        : p == '?' ? (c != '+' && c != '-')
                   : c != p)
      return false;
  }
  return true;
}

/// True when one line of `text` has the shape of `pattern`.
bool has_line_shaped(const std::string& text, std::string_view pattern) {
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line))
    if (matches_shape(line, pattern)) return true;
  return false;
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
  EXPECT_TRUE(has_line_shaped(
      err, "####-##-##T##:##:##.###?##:## [info] actorsync: link lost: connect_failed"))
      << err;
}

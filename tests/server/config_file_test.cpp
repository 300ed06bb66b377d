#include <actorsync/server/config_file.hpp>

#include <gtest/gtest.h>

#include <fstream>

#include "tests/support/test_server.hpp"

namespace actorsync::server {
namespace {

using testing::temp_dir;

std::filesystem::path write_file(const temp_dir& dir, const std::string& text) {
  auto path = dir.path() / "server.toml";
  std::ofstream(path) << text;
  return path;
}

std::string load_error(const std::string& text) {
  temp_dir dir;
  try {
    load_config_file(write_file(dir, text));
  } catch (const std::runtime_error& e) {
    return e.what();
  }
  return {};
}

TEST(ConfigFile, TheShippedDefaultLoadsAndEqualsTheBuiltInDefaults) {
  auto loaded = load_config_file(testing::source_dir() / "config" / "server.toml");
  const server_options defaults;
  EXPECT_EQ(loaded.options.data_directory, defaults.data_directory);
  EXPECT_EQ(loaded.options.ws.port, defaults.ws.port);
  EXPECT_EQ(loaded.options.wss.enabled, defaults.wss.enabled);
  EXPECT_EQ(loaded.options.metrics.port, defaults.metrics.port);
  EXPECT_EQ(loaded.options.max_sessions_per_connection, defaults.max_sessions_per_connection);
  EXPECT_EQ(loaded.options.send_queue_timeout, defaults.send_queue_timeout);
  EXPECT_EQ(loaded.options.group_commit_window, defaults.group_commit_window);
  EXPECT_TRUE(loaded.secret_file.empty());
  loaded.options.token_secret = testing::test_secret();
  EXPECT_EQ(validate(loaded.options), "");
}

TEST(ConfigFile, ValuesOverrideDefaults) {
  temp_dir dir;
  auto loaded = load_config_file(
      write_file(dir, "[ws]\nport = 0\n[limits]\nmax_sessions_per_connection = 3\n"));
  EXPECT_EQ(loaded.options.ws.port, 0);
  EXPECT_EQ(loaded.options.max_sessions_per_connection, 3u);
}

TEST(ConfigFile, UnknownKeysAreRefusedByName) {
  EXPECT_NE(load_error("[limits]\nmax_sesions = 3\n").find("limits.max_sesions: unknown key"),
            std::string::npos);
  EXPECT_NE(load_error("[colour]\nx = 1\n").find("colour: unknown section"), std::string::npos);
}

TEST(ConfigFile, WrongTypesAndRangesAreRefusedByName) {
  EXPECT_NE(load_error("[ws]\nport = \"80\"\n").find("ws.port: expected an integer"),
            std::string::npos);
  EXPECT_NE(load_error("[ws]\nport = 70000\n").find("ws.port: must be between 0 and 65535"),
            std::string::npos);
  EXPECT_NE(load_error("[storage]\ndurable = 1\n").find("storage.durable: expected true or false"),
            std::string::npos);
  EXPECT_NE(
      load_error("[log]\nformat = \"xml\"\n").find("log.format: expected \"text\" or \"json\""),
      std::string::npos);
  EXPECT_NE(load_error("[auth]\npublic_key_files = \"idp.pem\"\n")
                .find("auth.public_key_files: expected an array of strings"),
            std::string::npos);
}

// storage.min_free_disk_mb (issue 17): read as given, refused by name when negative.
TEST(ConfigFile, TheDiskReserveIsReadAndANegativeOneIsRefusedByName) {
  temp_dir dir;
  auto loaded = load_config_file(write_file(dir, "[storage]\nmin_free_disk_mb = 64\n"));
  EXPECT_EQ(loaded.options.min_free_disk_mib, 64u);
  EXPECT_NE(load_error("[storage]\nmin_free_disk_mb = -1\n").find("storage.min_free_disk_mb"),
            std::string::npos);
}

// limits.memory_budget_mb and limits.frame_timeout_ms (issue 17): read as given; 0 sizes the
// budget to the machine; a budget too small for one frame is refused by name.
TEST(ConfigFile, TheMemoryBudgetAndFrameTimeoutAreReadAndCheckedByName) {
  temp_dir dir;
  auto loaded = load_config_file(
      write_file(dir, "[limits]\nmemory_budget_mb = 512\nframe_timeout_ms = 2500\n"));
  EXPECT_EQ(loaded.options.memory_budget_bytes, std::size_t{512} << 20);
  EXPECT_EQ(loaded.options.frame_timeout, std::chrono::milliseconds(2500));
  loaded.options.token_secret = testing::test_secret();
  EXPECT_EQ(validate(loaded.options), "");
  loaded.options.memory_budget_bytes = std::size_t{4} << 20;
  EXPECT_EQ(validate(loaded.options).rfind("limits.memory_budget_mb:", 0), 0u);
  loaded.options.memory_budget_bytes = 0;
  EXPECT_EQ(validate(loaded.options), "");
  EXPECT_NE(load_error("[limits]\nmemory_budget_mb = -1\n").find("limits.memory_budget_mb"),
            std::string::npos);
  EXPECT_NE(load_error("[limits]\nframe_timeout_ms = 0\n").find("limits.frame_timeout_ms"),
            std::string::npos);
}

TEST(ConfigFile, PendingUpgradeLimitsAreReadAndCheckedByName) {
  temp_dir dir;
  auto loaded = load_config_file(
      write_file(dir, "[limits]\nmax_pending_upgrades = 64\nupgrade_timeout_ms = 4000\n"));
  EXPECT_EQ(loaded.options.max_pending_upgrades, 64u);
  EXPECT_EQ(loaded.options.upgrade_timeout, std::chrono::milliseconds(4000));
  EXPECT_NE(load_error("[limits]\nmax_pending_upgrades = 0\n").find("limits.max_pending_upgrades"),
            std::string::npos);
  EXPECT_NE(load_error("[limits]\nupgrade_timeout_ms = 0\n").find("limits.upgrade_timeout_ms"),
            std::string::npos);
  EXPECT_NE(
      load_error("[limits]\nupgrade_timeout_ms = 7200000\n").find("limits.upgrade_timeout_ms"),
      std::string::npos);  // above the hour allowed
}

TEST(ConfigFile, SyntaxErrorsNameTheLine) {
  EXPECT_NE(load_error("[ws\n").find("line 1"), std::string::npos);
}

TEST(ConfigFile, ValidationNamesTheKey) {
  server_options o;
  o.token_secret = testing::test_secret();
  o.wss.enabled = true;
  EXPECT_EQ(validate(o).rfind("tls.certificate_file:", 0), 0u);
  o = {};
  EXPECT_EQ(validate(o).rfind("auth.secret:", 0), 0u);
  o = {};
  o.token_secret = testing::test_secret();
  o.node_id = "n1";  // without a PostgreSQL URL it would be silently ignored
  EXPECT_EQ(validate(o).rfind("cluster.node_id:", 0), 0u);
  o.postgres_url = "postgresql://127.0.0.1/actorsync";
  EXPECT_EQ(validate(o), "");
  o.node_id.clear();
  EXPECT_EQ(validate(o).rfind("cluster.node_id:", 0), 0u);
  // The bus needs the shared history, and its URLs must be NATS URLs.
  o = {};
  o.token_secret = testing::test_secret();
  o.nats_urls = {"nats://127.0.0.1:4222"};
  EXPECT_EQ(validate(o).rfind("cluster.nats_urls:", 0), 0u);
  o.postgres_url = "postgresql://127.0.0.1/actorsync";
  o.node_id = "n1";
  EXPECT_EQ(validate(o), "");
  o.nats_urls.push_back("http://127.0.0.1:4222");
  const auto refused = validate(o);
  EXPECT_EQ(refused.rfind("cluster.nats_urls:", 0), 0u);
  EXPECT_NE(refused.find("http://127.0.0.1:4222"), std::string::npos) << refused;
}

TEST(ConfigFile, TheBinaryRefusesAnInvalidConfigNamingTheKey) {
  temp_dir dir;
  auto file = write_file(dir, "[limits]\nmax_frame_bytes = 10\n");
  const auto output = dir.path() / "stderr.txt";
  const auto command = std::string("ACTORSYNC_TOKEN_SECRET=0123456789abcdef0123 '") +
                       ACTORSYNC_SERVER_BINARY + "' --config '" + file.string() + "' 2> '" +
                       output.string() + "'";
  const int status = std::system(command.c_str());
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 2);
  std::ifstream in(output);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_NE(text.find("limits.max_frame_bytes"), std::string::npos) << text;
}

}  // namespace
}  // namespace actorsync::server

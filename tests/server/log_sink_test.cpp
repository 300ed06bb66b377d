#include "server/log_sink.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <limits.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include <string>

namespace actorsync::server {
namespace {

// A one-page pipe that the test reads only after logging: a blocking sink would hang here.
class UnreadPipe : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(pipe(ends_), 0);
    fcntl(ends_[1], F_SETPIPE_SZ, 4096);
    sink_ = std::make_shared<dropping_fd_sink>(ends_[1]);
    logger_ = std::make_shared<spdlog::logger>("test", sink_);
    logger_->set_pattern("%v");
  }
  void TearDown() override {
    close(ends_[0]);
    close(ends_[1]);
  }
  std::string drain() {
    fcntl(ends_[0], F_SETFL, O_NONBLOCK);
    std::string text;
    char buffer[4096];
    for (ssize_t n; (n = read(ends_[0], buffer, sizeof buffer)) > 0;) text.append(buffer, n);
    return text;
  }
  int ends_[2] = {-1, -1};
  std::shared_ptr<dropping_fd_sink> sink_;
  std::shared_ptr<spdlog::logger> logger_;
};

TEST_F(UnreadPipe, LinesThatDoNotFitAreDroppedAndCountedNeverBlocking) {
  const auto before = log_lines_dropped();
  for (int i = 0; i < 1000; ++i) logger_->info("line {:04} {}", i, std::string(80, 'x'));
  EXPECT_GT(sink_->dropped(), 0u);
  EXPECT_EQ(log_lines_dropped() - before, sink_->dropped());
  // What did fit is whole lines, in order, starting with the first.
  const auto text = drain();
  ASSERT_FALSE(text.empty());
  EXPECT_EQ(text.rfind("line 0000 ", 0), 0u);
  EXPECT_EQ(text.back(), '\n');
  EXPECT_EQ(text.size() % (10 + 80 + 1), 0u);
}

TEST_F(UnreadPipe, ALineLongerThanPipeBufIsCutToOneAtomicWrite) {
  logger_->info(std::string(3 * PIPE_BUF, 'y'));
  const auto text = drain();
  ASSERT_EQ(text.size(), static_cast<std::size_t>(PIPE_BUF));
  EXPECT_EQ(text.back(), '\n');
  EXPECT_EQ(sink_->dropped(), 0u);
}

}  // namespace
}  // namespace actorsync::server

// --log-format json: a message with quotes, backslashes and control characters stays one JSON
// object per line and reads back as it was logged.
TEST(JsonLogLines, EscapeTheMessageSoEachLineParsesBack) {
  const std::string message = "a \"quoted\" \\ path\nand\ttab";
  ::testing::internal::CaptureStderr();
  actorsync::server::install_stderr_logger(actorsync::server::log_format::json);
  spdlog::warn("{}", message);
  spdlog::default_logger()->flush();
  const auto line = ::testing::internal::GetCapturedStderr();
  spdlog::set_default_logger(std::make_shared<spdlog::logger>("restored"));
  const auto parsed = nlohmann::json::parse(line, nullptr, false);
  ASSERT_TRUE(parsed.is_object()) << line;
  EXPECT_EQ(parsed["message"], message);
  EXPECT_EQ(parsed["level"], "warning");
  EXPECT_EQ(std::count(line.begin(), line.end(), '\n'), 1) << line;
}

#include "actors/sync_error.hpp"

#include <gtest/gtest.h>

using namespace actorsync::runtime;
using actorsync::protocol::error_code;

TEST(SyncError, ClassificationAgreesWithTheProtocolsRetryFlag) {
  for (std::uint16_t raw = 100; raw < 300; ++raw) {
    if (!actorsync::protocol::is_known_error_code(raw)) continue;
    auto code = static_cast<error_code>(raw);
    EXPECT_EQ(is_fatal(from_protocol(code)), !actorsync::protocol::is_retryable(code))
        << actorsync::protocol::to_string(code);
  }
}

TEST(SyncError, EveryValueHasAName) {
  for (int raw = 1; raw <= static_cast<int>(sync_errc::session_stopped); ++raw) {
    EXPECT_NE(to_string(static_cast<sync_errc>(raw)), "unknown");
  }
}

TEST(SyncError, StorageErrorsAreFatal) {
  EXPECT_TRUE(is_fatal(from_storage(actorsync::storage::storage_errc::io_error)));
  EXPECT_EQ(from_storage(actorsync::storage::storage_errc::bad_changeset),
            sync_errc::bad_changeset);
}

TEST(SyncError, LocalLinkFailuresAreRetryable) {
  EXPECT_FALSE(is_fatal(from_protocol(error_code::connect_timeout)));
  EXPECT_FALSE(is_fatal(from_protocol(error_code::pong_timeout)));
  EXPECT_FALSE(is_fatal(from_protocol(error_code::connection_lost)));
  EXPECT_TRUE(is_fatal(from_protocol(error_code::permission_denied)));
}

// protocol.md §1: a refused upgrade names its reason in X-Actorsync-Reason.
TEST(SyncError, UpgradeRefusalsAreClassifiedByTheirReasonThenByTheirStatus) {
  EXPECT_EQ(from_upgrade_refusal(401, "token_expired"), sync_errc::token_expired);
  EXPECT_FALSE(is_fatal(from_upgrade_refusal(401, "token_expired")));
  EXPECT_EQ(from_upgrade_refusal(401, "bad_authentication"), sync_errc::bad_authentication);
  EXPECT_EQ(from_upgrade_refusal(400, "wrong_protocol_version"), sync_errc::wrong_protocol_version);
  EXPECT_EQ(from_upgrade_refusal(400, "not_websocket_upgrade"), sync_errc::wrong_protocol_version);
  EXPECT_EQ(from_upgrade_refusal(503, "too_many_connections"), sync_errc::server_busy);
  EXPECT_FALSE(is_fatal(from_upgrade_refusal(503, "too_many_connections")));
  EXPECT_TRUE(is_fatal(from_upgrade_refusal(431, "headers_too_large")));
  EXPECT_TRUE(is_fatal(from_upgrade_refusal(401, "a_reason_from_the_future")));
  // Without the header (a proxy, an older server): by status.
  EXPECT_EQ(from_upgrade_refusal(401, ""), sync_errc::bad_authentication);
  EXPECT_EQ(from_upgrade_refusal(502, ""), sync_errc::connect_failed);
}

// The public vocabulary (issue 15): sync_errc is a std::error_code enum, and every public enum
// has a stable name.
#include <actorsync/actors/session_types.hpp>

#include <gtest/gtest.h>

#include <set>
#include <string_view>
#include <system_error>

#include <actorsync/protocol/errors.hpp>
#include <actorsync/storage/errors.hpp>
#include <actorsync/storage/realm_store.hpp>

using namespace actorsync;
using runtime::sync_errc;

namespace {

/// Every value of an enum from `first` to `last` has a name other than "unknown", and no two
/// values share one.
template <class Enum>
void expect_distinct_names(Enum first, Enum last) {
  std::set<std::string_view> names;
  for (auto raw = static_cast<int>(first); raw <= static_cast<int>(last); ++raw) {
    const auto name = to_string(static_cast<Enum>(raw));
    EXPECT_NE(name, "unknown") << raw;
    EXPECT_TRUE(names.insert(name).second) << name;
  }
}

}  // namespace

TEST(PublicTypes, SyncErrcConvertsToAStdErrorCodeWithItsOwnCategory) {
  const std::error_code ec = sync_errc::pong_timeout;
  EXPECT_STREQ(ec.category().name(), "actorsync.sync");
  EXPECT_EQ(&ec.category(), &runtime::sync_category());
  EXPECT_EQ(ec.message(), "pong_timeout");
  EXPECT_EQ(ec, sync_errc::pong_timeout);
  EXPECT_NE(ec, sync_errc::connect_timeout);
  EXPECT_NE(ec, std::make_error_code(std::errc::timed_out));  // another category, same number
  EXPECT_TRUE(ec);  // no sync_errc is 0: every value means an error
}

TEST(PublicTypes, EveryPublicEnumHasDistinctNames) {
  expect_distinct_names(sync_errc::connection_lost, sync_errc::session_stopped);
  expect_distinct_names(runtime::connection_state::disconnected,
                        runtime::connection_state::connected);
  expect_distinct_names(runtime::session_state::active, runtime::session_state::inactive);
  expect_distinct_names(runtime::wait_status::ok, runtime::wait_status::error);
  expect_distinct_names(runtime::log_level::trace, runtime::log_level::off);
  expect_distinct_names(runtime::progress_direction::upload, runtime::progress_direction::download);
  expect_distinct_names(runtime::progress_mode::report_indefinitely,
                        runtime::progress_mode::for_currently_outstanding_work);
  expect_distinct_names(storage::storage_errc::io_error, storage::storage_errc::unavailable);
  expect_distinct_names(storage::durability::full, storage::durability::process_crash);
}

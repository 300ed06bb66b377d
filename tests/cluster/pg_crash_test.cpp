// PostgreSQL crashing (pg_ctl stop -m immediate) under a stream of group commits: nothing
// acknowledged is lost or doubled, nothing is acknowledged while it is down, and the store
// serves again once the realms are acquired anew (which reloads their heads).
#include "cluster/pg_history_store.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "tests/cluster/pg_store_fixture.hpp"
#include "tests/support/eventually.hpp"

namespace actorsync::testing {
namespace {

using namespace actorsync::cluster;

using storage::storage_errc;

constexpr int realm_count = 5;

std::string realm(int r) {
  return "/crash/" + std::to_string(r);
}

/// Client versions of `client` in the realm's history, with how often each occurs.
std::map<protocol::version_type, int> stored_versions(pg_history_store& store,
                                                      const std::string& path,
                                                      protocol::file_ident client) {
  std::map<protocol::version_type, int> seen;
  protocol::version_type cursor = 0;
  while (cursor < store.latest_server_version(path)) {
    auto range = store.read(path, cursor, 1 << 20);
    EXPECT_TRUE(range.ok()) << (range.ok() ? "" : range.error().message);
    if (!range.ok() || range->server_version <= cursor) break;
    for (const auto& c : range->changesets) {
      if (c.origin_file_ident == client) ++seen[c.client_version];
    }
    cursor = range->server_version;
  }
  return seen;
}

TEST_F(PgStoreTest, ADatabaseCrashLosesNothingAcknowledgedAndServiceResumesAfterReacquiring) {
  auto store = open_store("node-a");
  std::vector<storage::file_ident_grant> grants;
  for (int r = 0; r < realm_count; ++r) {
    ASSERT_TRUE(store->acquire(realm(r)).ok());
    grants.push_back(allocate(*store, realm(r)));
  }
  std::mutex mutex;
  std::map<int, std::set<protocol::version_type>> acknowledged;
  std::atomic<int> acked_total{0}, failures{0};
  std::atomic<bool> stop{false};
  // One thread submits per realm in order, as realm actors do; callbacks record what was
  // acknowledged. It stops once the crash has refused something.
  std::thread writer([&] {
    for (protocol::version_type cv = 1; !stop && failures == 0; ++cv) {
      for (int r = 0; r < realm_count; ++r) {
        store->integrate_async(realm(r), grants[r], {upload(cv)}, [&, r, cv](auto outcome) {
          if (!outcome.ok()) {
            EXPECT_TRUE(outcome.error().code == storage_errc::unavailable ||
                        outcome.error().code == storage_errc::realm_lost)
                << outcome.error().message;
            ++failures;
            return;
          }
          std::lock_guard lock(mutex);
          acknowledged[r].insert(cv);
          ++acked_total;
        });
      }
    }
  });
  eventually([&] { return acked_total >= 100; });
  postgres_->stop("immediate");  // a crash: recovery replays the WAL at the next start
  eventually([&] { return failures != 0; });
  stop = true;
  writer.join();
  ASSERT_GT(failures.load(), 0) << "writes were still acknowledged with PostgreSQL down";
  const auto acked_before_restart = acked_total.load();
  postgres_->start();

  // Writing resumes once each realm is acquired again (stale pooled connections may fail the
  // first attempts); the deadline only fails the test.
  for (int r = 0; r < realm_count; ++r) {
    storage::status taken = storage::done{};
    eventually([&] {
      taken = store->acquire(realm(r));
      return taken.ok();
    });
    ASSERT_TRUE(taken.ok()) << taken.error().message;
  }
  EXPECT_EQ(acked_total.load(), acked_before_restart) << "an acknowledgement after the crash";
  for (int r = 0; r < realm_count; ++r) {
    SCOPED_TRACE(realm(r));
    auto seen = stored_versions(*store, realm(r), grants[r].ident);
    for (const auto cv : acknowledged[r]) EXPECT_EQ(seen[cv], 1) << "client version " << cv;
    // What is stored is a prefix 1..k, each once (a commit in doubt may have landed).
    protocol::version_type k = 0;
    for (const auto& [cv, count] : seen) {
      EXPECT_EQ(cv, k + 1);
      EXPECT_EQ(count, 1);
      k = cv;
    }
    // The client re-sends everything it has not seen acknowledged: only the missing part is
    // integrated, and the history stays exactly once.
    const auto highest = acknowledged[r].empty() ? 0 : *acknowledged[r].rbegin();
    std::vector<protocol::changeset> resend;
    for (protocol::version_type cv = 1; cv <= highest + 3; ++cv) resend.push_back(upload(cv));
    auto again = store->integrate(realm(r), grants[r], resend);
    ASSERT_TRUE(again.ok()) << again.error().message;
    EXPECT_EQ(again.value().integrated, highest + 3 - k);
    for (const auto& [cv, count] : stored_versions(*store, realm(r), grants[r].ident)) {
      EXPECT_EQ(count, 1) << "client version " << cv;
    }
  }
}

}  // namespace
}  // namespace actorsync::testing

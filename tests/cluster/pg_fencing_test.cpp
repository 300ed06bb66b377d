// Ownership on PostgreSQL: two stores on one database act as two nodes. A realm moves only when
// its owner's lease expired (database clock) or it released it; the epoch rises at every move;
// a fenced group commit acknowledges nothing of the lost realm and commits the others.
#include "cluster/pg_history_store.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <optional>
#include <thread>

#include "tests/cluster/pg_store_fixture.hpp"
#include "tests/support/eventually.hpp"

namespace actorsync::testing {
namespace {

using namespace actorsync::cluster;

using storage::storage_errc;

/// Acquires once the realm is no longer owned elsewhere (eventually(): the deadline only fails
/// the test); the last attempt's outcome.
storage::status acquire_eventually(pg_history_store& store, const std::string& realm) {
  std::optional<storage::status> taken;
  eventually([&] {
    taken = store.acquire(realm);
    return taken->ok() || taken->error().code != storage_errc::realm_owned_elsewhere;
  });
  return *taken;
}

/// Submits one integration per realm back to back and waits for all callbacks.
std::vector<storage::result<storage::integration_result>> integrate_together(
    pg_history_store& store,
    const std::vector<std::pair<std::string, storage::file_ident_grant>>& targets,
    protocol::version_type client_version) {
  std::vector<std::promise<storage::result<storage::integration_result>>> promises(targets.size());
  for (std::size_t i = 0; i < targets.size(); ++i) {
    store.integrate_async(targets[i].first, targets[i].second, {upload(client_version)},
                          [&promises, i](auto r) { promises[i].set_value(std::move(r)); });
  }
  std::vector<storage::result<storage::integration_result>> out;
  for (auto& p : promises) out.push_back(p.get_future().get());
  return out;
}

std::vector<storage::file_ident_grant> allocate_together(pg_history_store& store,
                                                         const std::vector<std::string>& realms) {
  std::vector<std::promise<storage::result<storage::file_ident_grant>>> promises(realms.size());
  for (std::size_t i = 0; i < realms.size(); ++i) {
    store.allocate_client_file_ident_async(
        realms[i], [&promises, i](auto g) { promises[i].set_value(std::move(g)); });
  }
  std::vector<storage::file_ident_grant> out;
  for (auto& p : promises) {
    auto g = p.get_future().get();
    EXPECT_TRUE(g.ok()) << (g.ok() ? "" : g.error().message);
    out.push_back(g.ok() ? g.value() : storage::file_ident_grant{});
  }
  return out;
}

TEST_F(PgStoreTest, ALiveOwnerKeepsItsRealm) {
  auto a = open_store("node-a");
  auto b = open_store("node-b");
  ASSERT_TRUE(a->acquire("/kept").ok());
  auto refused = b->acquire("/kept");
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, storage_errc::realm_owned_elsewhere);
  EXPECT_NE(refused.error().message.find("node-a"), std::string::npos) << refused.error().message;
  EXPECT_EQ(b->epoch("/kept"), 0u);
  auto nodes = a->live_nodes();
  ASSERT_TRUE(nodes.ok());
  EXPECT_EQ(nodes.value(), (std::vector<std::string>{"node-a", "node-b"}));
}

TEST_F(PgStoreTest, EpochsOnlyIncreaseAsARealmMovesByRelease) {
  auto a = open_store("node-a");
  auto b = open_store("node-b");
  std::uint64_t last = 0;
  for (int round = 0; round < 5; ++round) {
    auto& taker = round % 2 == 0 ? *a : *b;
    auto& giver = round % 2 == 0 ? *b : *a;
    giver.release("/moving");
    ASSERT_TRUE(taker.acquire("/moving").ok()) << "round " << round;
    EXPECT_GT(taker.epoch("/moving"), last) << "round " << round;
    last = taker.epoch("/moving");
    EXPECT_EQ(giver.epoch("/moving"), 0u);
    auto grant = taker.allocate_client_file_ident("/moving");
    ASSERT_TRUE(grant.ok()) << grant.error().message;
    EXPECT_EQ(grant.value().ident, static_cast<protocol::file_ident>(round + 1))
        << "the ident counter moves with the realm";
  }
}

TEST_F(PgStoreTest, AFencedRealmAcknowledgesNothingWhileTheGroupsOtherRealmsCommit) {
  // Node A renews its lease only when told (interval 0) and holds it briefly: it stands for a
  // node that stalled (SIGSTOP, a long pause) while still believing it owns its realms. Its
  // writer gathers exactly two writes per group, so /lost and /kept share each transaction.
  auto ao = options_for("node-a");
  ao.lease_time = std::chrono::milliseconds(300);
  ao.lease_renew_interval = std::chrono::milliseconds(0);
  ao.group_commit_window = std::chrono::hours(1);
  ao.full_group = 2;
  auto a = open_store(ao);
  auto b = open_store("node-b");
  ASSERT_TRUE(a->acquire("/lost").ok());
  ASSERT_TRUE(a->acquire("/kept").ok());
  const auto a_epoch = a->epoch("/lost");
  const auto grants = allocate_together(*a, {"/lost", "/kept"});
  const std::vector<std::pair<std::string, storage::file_ident_grant>> targets{
      {"/lost", grants[0]}, {"/kept", grants[1]}};
  for (const auto& r : integrate_together(*a, targets, 1)) ASSERT_TRUE(r.ok());

  // A's lease runs out on the database clock; B takes /lost.
  ASSERT_TRUE(acquire_eventually(*b, "/lost").ok());
  EXPECT_GT(b->epoch("/lost"), a_epoch);
  const auto before = a->stats();
  const auto outcomes = integrate_together(*a, targets, 2);
  ASSERT_FALSE(outcomes[0].ok());
  EXPECT_EQ(outcomes[0].error().code, storage_errc::realm_lost);
  ASSERT_TRUE(outcomes[1].ok()) << outcomes[1].error().message;
  const auto after = a->stats();
  EXPECT_EQ(after.group_writes, before.group_writes + 1) << "one transaction for both realms";
  EXPECT_EQ(after.fenced_realms, before.fenced_realms + 1);
  EXPECT_EQ(after.realm_heads_written, before.realm_heads_written + 1);

  // Nothing of A's fenced write exists; /kept has both; B writes on /lost from where A stopped.
  EXPECT_EQ(b->latest_server_version("/lost"), 1u);
  EXPECT_EQ(b->last_integrated_client_version("/lost", grants[0].ident), 1u);
  EXPECT_EQ(b->latest_server_version("/kept"), 2u);
  auto resumed = b->integrate("/lost", grants[0], {upload(2)});
  ASSERT_TRUE(resumed.ok()) << resumed.error().message;
  EXPECT_EQ(resumed.value().server_version, 2u);
  // A has let go of /lost: later writes are refused at once, until it acquires again (refused
  // while B's lease is live).
  EXPECT_EQ(a->epoch("/lost"), 0u);
  const auto later = integrate_together(*a, targets, 3);
  ASSERT_FALSE(later[0].ok());
  EXPECT_EQ(later[0].error().code, storage_errc::realm_lost);
  EXPECT_TRUE(later[1].ok());
  ASSERT_TRUE(a->renew_lease().ok());
  EXPECT_EQ(a->acquire("/lost").error().code, storage_errc::realm_owned_elsewhere);
}

}  // namespace
}  // namespace actorsync::testing

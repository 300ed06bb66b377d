// Three real actorsync-server nodes over a real PostgreSQL and real NATS (tests/cluster/
// test_cluster.hpp), clients syncing through the runtime: any node serves any realm (uploads go
// to the realm's owner over NATS, downloads come from every node), and owners killed, stopped
// past their lease or drained lose no acknowledged write: every changeset a replica committed is
// in PostgreSQL exactly once and fresh replicas on another node converge.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>

#include <chrono>
#include <cstdlib>
#include <iostream>
#include <random>

#include "tests/cluster/pg_history_check.hpp"
#include "tests/cluster/test_cluster.hpp"
#include "tests/support/eventually.hpp"
#include "tests/support/sync_workload.hpp"

namespace actorsync::testing {
namespace {

workload_options through(const test_cluster& cluster, std::size_t node,
                         const std::filesystem::path& directory, std::size_t realms,
                         std::string prefix) {
  return {.server_url = cluster.url(node),
          .data_directory = directory,
          .token_secret = test_cluster::secret,
          .realms = realms,
          .realm_prefix = std::move(prefix),
          // A failure is reported within a bounded time (failover itself takes ~lease time).
          .request_timeout = std::chrono::seconds(30)};
}

// What every test ends with: everything uploaded and stored exactly once, no fatal error, and
// a fresh replica through another node equal to the writer's.
void expect_settled(test_cluster& cluster, sync_workload& workload, std::size_t check_node,
                    const std::filesystem::path& fresh) {
  workload.stop_writing();
  // No wait hangs: every upload wait issued during the run ended (retryable errors never end
  // a wait; they carry over).
  const auto waits = workload.collect_waits(std::chrono::seconds(30));
  EXPECT_EQ(waits.unfinished + waits.timed_out, 0u)
      << "waits: ok " << waits.ok << ", error " << waits.error;
  EXPECT_EQ(workload.upload_everything(), std::vector<std::string>{}) << cluster.outputs();
  EXPECT_EQ(workload.download_everything(), std::vector<std::string>{});
  EXPECT_EQ(workload.fatal_errors(), std::vector<std::string>{});
  EXPECT_EQ(workload.check_converged(fresh, cluster.url(check_node)), std::vector<std::string>{})
      << cluster.outputs();
  EXPECT_EQ(check_exactly_once(cluster.postgres_url(), workload.records()),
            std::vector<std::string>{});
}

bool acknowledged_more(const sync_workload& workload, std::uint64_t by) {
  const auto before = workload.acknowledged_total();
  return eventually([&] { return workload.acknowledged_total() >= before + by; });
}

TEST(ClusterNodes, AnyNodeServesAnyRealmAndReplicasOnEveryNodeConverge) {
  ACTORSYNC_REQUIRE_POSTGRES();
  ACTORSYNC_REQUIRE_NATS();
  test_cluster cluster;
  temp_dir root;
  // Two writers of the same realms through two different nodes.
  sync_workload a(through(cluster, 0, root.path() / "a", 12, "/shared"));
  sync_workload b(through(cluster, 1, root.path() / "b", 12, "/shared"));
  a.start_writing();
  b.start_writing();
  ASSERT_TRUE(acknowledged_more(a, 60)) << cluster.outputs();
  ASSERT_TRUE(acknowledged_more(b, 60)) << cluster.outputs();
  b.stop_writing();
  expect_settled(cluster, a, 2, root.path() / "fresh-a");
  expect_settled(cluster, b, 2, root.path() / "fresh-b");
  // Each replica holds the other's writes too: both equal the fresh copies.
  EXPECT_EQ(a.check_converged(root.path() / "fresh-a2", cluster.url(1)),
            std::vector<std::string>{});
  // Owners are chosen by rendezvous hashing: the realms spread over more than one node, so
  // uploads did cross the bus.
  EXPECT_GE(cluster.owners().size(), 2u);
}

std::size_t from_environment(const char* name, std::size_t fallback) {
  const char* value = std::getenv(name);
  return value ? std::stoul(value) : fallback;
}

// CI runs 4 rounds over 20 realms; the long loop is the same test with
// ACTORSYNC_CLUSTER_KILL_ROUNDS=24 ACTORSYNC_CLUSTER_KILL_REALMS=200 (docs/cluster.md). Each
// round prints how long the victim's realms took to be owned elsewhere (its failover time).
TEST(ClusterNodes, KilledOwnersRealmsMoveAndNothingAcknowledgedIsLost) {
  ACTORSYNC_REQUIRE_POSTGRES();
  ACTORSYNC_REQUIRE_NATS();
  const auto rounds = from_environment("ACTORSYNC_CLUSTER_KILL_ROUNDS", 4);
  const auto realms = from_environment("ACTORSYNC_CLUSTER_KILL_REALMS", 20);
  test_cluster cluster;
  temp_dir root;
  auto options = through(cluster, 0, root.path() / "client", realms, "/kill");
  options.more_server_urls = {cluster.url(1), cluster.url(2)};
  sync_workload workload(options);
  workload.start_writing();
  ASSERT_TRUE(acknowledged_more(workload, 40)) << cluster.outputs();
  std::mt19937 pick(16);  // fixed: a failure replays the same victims
  auto epochs = cluster.epochs();
  for (std::size_t round = 0; round < rounds; ++round) {
    const std::size_t victim = pick() % cluster.size();  // the entry node too: clients move
    const auto id = test_cluster::node_id(victim);
    ASSERT_TRUE(eventually([&] { return cluster.owners().count(id) != 0; }))
        << id << " owns no realm before its kill";
    const auto killed_at = std::chrono::steady_clock::now();
    const int status = cluster.kill(victim, SIGKILL);
    ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
    // Every realm is written round robin: each of the victim's realms gets an upload, whose
    // entry node has another node take it once the victim's lease ran out.
    ASSERT_TRUE(eventually([&] { return cluster.owners().count(id) == 0; }))
        << id << "'s realms were not taken over\n"
        << cluster.outputs();
    std::cout << "round " << round << ": " << id << " killed, its realms owned elsewhere after "
              << std::chrono::duration_cast<std::chrono::milliseconds>(
                     std::chrono::steady_clock::now() - killed_at)
                     .count()
              << " ms" << std::endl;
    ASSERT_TRUE(acknowledged_more(workload, 40)) << cluster.outputs();
    cluster.restart(victim);
    // A realm's epoch only rises (every move raises it): a lower one would let a fenced node
    // commit again.
    const auto now = cluster.epochs();
    for (const auto& [realm, epoch] : epochs) {
      ASSERT_TRUE(now.count(realm) != 0) << realm << " lost its head";
      EXPECT_GE(now.at(realm), epoch) << realm << " epoch went back";
    }
    EXPECT_NE(now, epochs) << "no realm changed hands in round " << round;
    epochs = now;
  }
  // With every node back, each realm ends at its preferred owner: the moves back after the
  // restarts, and takes decided while the live nodes were changing, all settle.
  EXPECT_TRUE(eventually([&] { return cluster.misplaced_realms() == 0; }))
      << cluster.misplaced_realms() << " realms not at their preferred owner";
  expect_settled(cluster, workload, 1, root.path() / "fresh");
}

TEST(ClusterNodes, OwnerStoppedPastItsLeaseIsFencedAndTheHistoryDoesNotFork) {
  ACTORSYNC_REQUIRE_POSTGRES();
  ACTORSYNC_REQUIRE_NATS();
  test_cluster cluster;
  temp_dir root;
  sync_workload workload(through(cluster, 0, root.path() / "client", 20, "/stop"));
  workload.start_writing();
  const auto id = test_cluster::node_id(2);
  ASSERT_TRUE(eventually([&] { return cluster.owners().count(id) != 0; }));
  ASSERT_TRUE(acknowledged_more(workload, 40)) << cluster.outputs();
  ASSERT_EQ(::kill(cluster.node(2).pid(), SIGSTOP), 0);
  ASSERT_TRUE(eventually([&] { return cluster.owners().count(id) == 0; }))
      << "the stopped node's realms were not taken over\n"
      << cluster.outputs();
  ASSERT_TRUE(acknowledged_more(workload, 40)) << cluster.outputs();
  // Resumed, it still believes it owns its realms and answers the requests queued for it: the
  // epoch fence refuses its commits, so nothing it integrates now is stored or acknowledged.
  ASSERT_EQ(::kill(cluster.node(2).pid(), SIGCONT), 0);
  ASSERT_TRUE(acknowledged_more(workload, 40)) << cluster.outputs();
  expect_settled(cluster, workload, 2, root.path() / "fresh");
}

TEST(ClusterNodes, ClientsOfAKilledEntryNodeMoveToAnotherNodeAndLoseNothing) {
  ACTORSYNC_REQUIRE_POSTGRES();
  ACTORSYNC_REQUIRE_NATS();
  test_cluster cluster;
  temp_dir root;
  auto options = through(cluster, 0, root.path() / "client", 20, "/entry");
  options.more_server_urls = {cluster.url(1), cluster.url(2)};
  sync_workload workload(options);
  workload.start_writing();
  ASSERT_TRUE(acknowledged_more(workload, 40)) << cluster.outputs();
  // The node every link is on dies (it may own realms too): the links move to node 1.
  const int status = cluster.kill(0, SIGKILL);
  ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
  ASSERT_TRUE(acknowledged_more(workload, 40)) << cluster.outputs();
  cluster.restart(0);
  expect_settled(cluster, workload, 0, root.path() / "fresh");
}

// The entry node dies after the owner committed an upload and before the client heard of it:
// the client re-sends it through another node, and it is stored once.
TEST(ClusterNodes, EntryNodeKilledBetweenTheOwnersCommitAndTheAcknowledgementDeduplicates) {
  ACTORSYNC_REQUIRE_POSTGRES();
  ACTORSYNC_REQUIRE_NATS();
  test_cluster cluster;
  temp_dir root;
  auto options = through(cluster, 0, root.path() / "client", 20, "/between");
  options.more_server_urls = {cluster.url(1), cluster.url(2)};
  sync_workload workload(options);
  workload.start_writing();
  ASSERT_TRUE(acknowledged_more(workload, 40)) << cluster.outputs();
  // Hold everything between the client and its entry node: acknowledgements of what was
  // already on its way are held too.
  cluster.proxy(0).set_stalled(true);
  ASSERT_TRUE(eventually([&] {
    return cluster.integrated_in_postgres(workload.records()) > workload.acknowledged_total();
  })) << "no committed upload was left unacknowledged";
  const auto committed_unacknowledged =
      cluster.integrated_in_postgres(workload.records()) - workload.acknowledged_total();
  const int status = cluster.kill(0, SIGKILL);
  ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
  ASSERT_TRUE(acknowledged_more(workload, committed_unacknowledged + 40)) << cluster.outputs();
  cluster.proxy(0).set_stalled(false);
  cluster.restart(0);
  expect_settled(cluster, workload, 1, root.path() / "fresh");
}

TEST(ClusterNodes, NatsServersKilledOneThenAllLoseNoAcknowledgedWrite) {
  ACTORSYNC_REQUIRE_POSTGRES();
  ACTORSYNC_REQUIRE_NATS();
  test_cluster cluster({.nats_members = 3});
  temp_dir root;
  sync_workload workload(through(cluster, 0, root.path() / "client", 20, "/nats"));
  workload.start_writing();
  ASSERT_TRUE(acknowledged_more(workload, 40)) << cluster.outputs();
  // One NATS server down: the nodes connected to it reconnect to the others.
  cluster.nats().kill_member(0);
  ASSERT_TRUE(acknowledged_more(workload, 40)) << cluster.outputs();
  // All of them: no upload to another node's realm can be acknowledged; when they are back,
  // the bus reconnects and whatever the clients re-send is integrated once.
  for (std::size_t member = 1; member < 3; ++member) cluster.nats().kill_member(member);
  for (std::size_t member = 0; member < 3; ++member) cluster.nats().start_member(member);
  ASSERT_TRUE(acknowledged_more(workload, 40)) << cluster.outputs();
  expect_settled(cluster, workload, 1, root.path() / "fresh");
}

TEST(ClusterNodes, PostgresCrashedUnderTheClusterAcknowledgesNothingMeanwhileAndResumes) {
  ACTORSYNC_REQUIRE_POSTGRES();
  ACTORSYNC_REQUIRE_NATS();
  test_cluster cluster;
  temp_dir root;
  sync_workload workload(through(cluster, 0, root.path() / "client", 20, "/pg"));
  workload.start_writing();
  ASSERT_TRUE(acknowledged_more(workload, 40)) << cluster.outputs();
  // Writes go on locally while PostgreSQL is down. Anything a node acknowledged without a
  // COMMIT would be missing from PostgreSQL at the end, since the client never re-sends what
  // was acknowledged: expect_settled's exactly-once check catches it.
  cluster.stop_postgres("immediate");
  cluster.start_postgres();
  ASSERT_TRUE(acknowledged_more(workload, 40)) << cluster.outputs();
  expect_settled(cluster, workload, 2, root.path() / "fresh");
}

TEST(ClusterNodes, AJoiningNodeTakesItsShareAndTheMoveShowsInMetrics) {
  ACTORSYNC_REQUIRE_POSTGRES();
  ACTORSYNC_REQUIRE_NATS();
  test_cluster cluster;
  temp_dir root;
  sync_workload workload(through(cluster, 0, root.path() / "client", 20, "/join"));
  workload.start_writing();
  const auto id = test_cluster::node_id(2);
  ASSERT_EQ(cluster.node(2).stop(), 0);
  ASSERT_TRUE(acknowledged_more(workload, 40)) << cluster.outputs();
  ASSERT_EQ(cluster.owners().count(id), 0u);
  // Node 2 comes back: the others see its lease and hand it the realms it is preferred for,
  // while the client goes on writing through node 0.
  cluster.restart(2);
  ASSERT_TRUE(eventually([&] { return cluster.owners().count(id) != 0; }))
      << "the joining node took no realm\n"
      << cluster.outputs();
  // The database shows the move first; the node counts it once it serves the realm.
  EXPECT_TRUE(eventually([&] {
    return cluster.metric(2, "cluster_realm_acquisitions_total") > 0 &&
           cluster.metric(2, "cluster_realms_owned") > 0;
  }));
  EXPECT_GT(cluster.metric(0, "cluster_realm_handovers_total") +
                cluster.metric(1, "cluster_realm_handovers_total"),
            0);
  ASSERT_TRUE(acknowledged_more(workload, 40)) << cluster.outputs();
  EXPECT_TRUE(eventually([&] { return cluster.misplaced_realms() == 0; }))
      << cluster.misplaced_realms() << " realms not at their preferred owner";
  expect_settled(cluster, workload, 2, root.path() / "fresh");
}

TEST(ClusterNodes, DrainedNodeHandsItsRealmsOverBeforeItExits) {
  ACTORSYNC_REQUIRE_POSTGRES();
  ACTORSYNC_REQUIRE_NATS();
  test_cluster cluster;
  temp_dir root;
  sync_workload workload(through(cluster, 0, root.path() / "client", 20, "/drain"));
  workload.start_writing();
  const auto id = test_cluster::node_id(1);
  ASSERT_TRUE(eventually([&] { return cluster.owners().count(id) != 0; }));
  EXPECT_EQ(cluster.node(1).stop(), 0);  // SIGTERM: drain, release, exit 0
  // Released as it drained, not left to its lease: nothing is owned by it the moment it exited.
  EXPECT_EQ(cluster.owners().count(id), 0u) << cluster.outputs();
  ASSERT_TRUE(acknowledged_more(workload, 40)) << cluster.outputs();
  expect_settled(cluster, workload, 2, root.path() / "fresh");
}

}  // namespace
}  // namespace actorsync::testing

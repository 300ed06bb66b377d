// Test support for the PostgreSQL store tests: a fresh PostgreSQL per test, stores opened on
// it as named nodes, and small helpers mirroring tests/storage/history_store_test.cpp.
#pragma once

#include <gtest/gtest.h>

#include <future>

#include "cluster/pg_history_store.hpp"
#include "tests/cluster/pg_instance.hpp"

namespace actorsync::testing {

inline protocol::changeset upload(protocol::version_type client_version,
                                  std::string payload = "v") {
  protocol::changeset cs;
  cs.client_version = client_version;
  cs.origin_timestamp = 1000 + client_version;
  cs.instructions.emplace_back(protocol::set_field{"c", "x", "f", std::move(payload)});
  return cs;
}

class PgStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ACTORSYNC_REQUIRE_POSTGRES();
    postgres_ = std::make_unique<pg_instance>();
  }

  cluster::pg_options options_for(const std::string& node) const {
    cluster::pg_options o;
    o.url = postgres_->url();
    o.node_id = node;
    return o;
  }
  std::shared_ptr<cluster::pg_history_store> open_store(cluster::pg_options o) const {
    auto store = cluster::pg_history_store::open(std::move(o));
    EXPECT_TRUE(store.ok()) << (store.ok() ? "" : store.error().message);
    return store.ok() ? store.value() : nullptr;
  }
  std::shared_ptr<cluster::pg_history_store> open_store(const std::string& node = "n1") const {
    return open_store(options_for(node));
  }
  static storage::file_ident_grant allocate(storage::history_store& store,
                                            const std::string& realm) {
    auto grant = store.allocate_client_file_ident(realm);
    EXPECT_TRUE(grant.ok()) << (grant.ok() ? "" : grant.error().message);
    return grant.ok() ? grant.value() : storage::file_ident_grant{};
  }

  std::unique_ptr<pg_instance> postgres_;
};

}  // namespace actorsync::testing

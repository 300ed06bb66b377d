// Ten thousand realms live in one database: opening, writing and reopening them does not open
// more files than a hundred realms do.
#include <actorsync/storage/realm_store.hpp>

#include <gtest/gtest.h>

#include <filesystem>

#include "tests/support/temp_dir.hpp"

namespace actorsync::storage {
namespace {

std::size_t open_file_descriptors() {
  std::size_t count = 0;
  for ([[maybe_unused]] const auto& entry : std::filesystem::directory_iterator("/proc/self/fd")) {
    ++count;
  }
  return count;
}

std::string path_of(int i) {
  return "/tenant/" + std::to_string(i) + "/realm";
}

// RocksDB may rotate a log or flush a table in between; anything per realm would be thousands.
constexpr std::size_t fd_slack = 8;

TEST(ManyRealms, TenThousandRealmsShareOneDatabaseWithoutMoreFileDescriptors) {
  testing::temp_dir dir;
  std::size_t fds_after_100 = 0;
  {
    auto db = database::open(dir.path(), {durability::process_crash});
    ASSERT_TRUE(db.ok());
    std::vector<std::shared_ptr<realm_store>> realms;  // all kept open
    auto open_and_write = [&](int from, int to) {
      for (int i = from; i < to; ++i) {
        auto realm = db.value()->open_realm(path_of(i));
        ASSERT_TRUE(realm.ok()) << realm.error().message;
        ASSERT_TRUE(realm.value()
                        ->begin_write()
                        .create_object("c", "o")
                        .set_field("c", "o", "i", std::int64_t{i})
                        .commit()
                        .ok());
        realms.push_back(realm.value());
      }
    };
    open_and_write(0, 100);
    fds_after_100 = open_file_descriptors();
    open_and_write(100, 10000);
    EXPECT_LE(open_file_descriptors(), fds_after_100 + fd_slack);
  }

  auto db = database::open(dir.path(), {durability::process_crash});
  ASSERT_TRUE(db.ok());
  std::vector<std::shared_ptr<realm_store>> realms;
  for (int i = 0; i < 10000; ++i) {
    auto realm = db.value()->open_realm(path_of(i));
    ASSERT_TRUE(realm.ok());
    ASSERT_EQ(realm.value()->get_field("c", "o", "i"), protocol::value(std::int64_t{i}));
    ASSERT_EQ(realm.value()->metadata().latest_client_version, 1u);
    realms.push_back(realm.value());
  }
  EXPECT_LE(open_file_descriptors(), fds_after_100 + fd_slack);
}

}  // namespace
}  // namespace actorsync::storage

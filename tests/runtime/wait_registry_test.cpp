#include "actors/wait_registry.hpp"

#include <gtest/gtest.h>

using actorsync::runtime::wait_id;
using actorsync::runtime::wait_registry;
using ids = std::vector<wait_id>;

TEST(WaitRegistry, UploadWaitWithNothingToUploadIsDoneAtOnce) {
  wait_registry waits;
  EXPECT_TRUE(waits.add_upload(1, 5, 5));
  EXPECT_TRUE(waits.empty());
}

TEST(WaitRegistry, UploadWaitsKeepTheirOwnTargets) {
  wait_registry waits;
  EXPECT_FALSE(waits.add_upload(1, 3, 0));
  EXPECT_FALSE(waits.add_upload(2, 6, 0));
  EXPECT_EQ(waits.upload_acknowledged(2), ids{});
  EXPECT_EQ(waits.upload_acknowledged(4), ids{1});
  EXPECT_EQ(waits.upload_acknowledged(6), ids{2});
  EXPECT_TRUE(waits.empty());
}

TEST(WaitRegistry, DownloadWaitNeedsAMarkSentAfterIt) {
  wait_registry waits;
  waits.add_download(1);
  EXPECT_TRUE(waits.assign_mark(10));
  EXPECT_FALSE(waits.assign_mark(11));  // nothing new to mark
  waits.add_download(2);
  EXPECT_TRUE(waits.assign_mark(12));
  EXPECT_EQ(waits.mark_received(10), ids{1});
  EXPECT_EQ(waits.mark_received(11), ids{});
  EXPECT_EQ(waits.mark_received(12), ids{2});
}

TEST(WaitRegistry, AnEchoBeforeTheWaitsMarkDoesNotCompleteIt) {
  wait_registry waits;
  waits.add_download(1);
  EXPECT_EQ(waits.mark_received(5), ids{});  // no MARK was sent for it yet
  EXPECT_EQ(waits.download_count(), 1u);
}

TEST(WaitRegistry, LostBindingResendsMarks) {
  wait_registry waits;
  waits.add_download(1);
  ASSERT_TRUE(waits.assign_mark(1));
  waits.binding_lost();
  EXPECT_TRUE(waits.assign_mark(2));
  EXPECT_EQ(waits.mark_received(2), ids{1});
}

TEST(WaitRegistry, RemoveAndTakeAll) {
  wait_registry waits;
  waits.add_upload(1, 9, 0);
  waits.add_download(2);
  waits.add_download(3);
  EXPECT_TRUE(waits.remove(2));
  EXPECT_FALSE(waits.remove(2));
  auto all = waits.take_all();
  std::sort(all.begin(), all.end());
  EXPECT_EQ(all, (ids{1, 3}));
  EXPECT_TRUE(waits.empty());
}

TEST(WaitRegistry, DownloadWaitsForAServerVersionNeedNoMark) {
  wait_registry waits;
  EXPECT_TRUE(waits.add_download_to(1, 5, 5));  // already integrated: not stored
  EXPECT_FALSE(waits.add_download_to(2, 8, 5));
  EXPECT_FALSE(waits.add_download_to(3, 12, 5));
  EXPECT_FALSE(waits.assign_mark(1));  // no MARK for them
  EXPECT_EQ(waits.download_count(), 2u);
  EXPECT_TRUE(waits.downloaded_to(7).empty());
  EXPECT_EQ(waits.downloaded_to(9), ids{2});
  EXPECT_FALSE(waits.empty());
  EXPECT_EQ(waits.take_all(), ids{3});
  EXPECT_TRUE(waits.empty());
}

#include "actors/progress_registry.hpp"

#include <gtest/gtest.h>

using namespace actorsync::runtime;

TEST(ProgressFigures, UploadCountsAcknowledgedAgainstAllCommitted) {
  actorsync::storage::sync_metadata meta;
  meta.uploadable_bytes = 300;
  meta.uploaded_bytes = 100;
  EXPECT_EQ(upload_figures(meta), (progress_figures{100, 300}));
}

TEST(ProgressFigures, DownloadAddsTheServersDownloadableBytes) {
  actorsync::storage::sync_metadata meta;
  meta.downloaded_bytes = 50;
  meta.downloadable_bytes = 150;
  EXPECT_EQ(download_figures(meta), (progress_figures{50, 200}));
}

TEST(ProgressReport, EstimateIsAFractionAndOneWhenNothingIsTransferable) {
  auto r = make_report(progress_direction::upload, {25, 100});
  EXPECT_DOUBLE_EQ(r.estimate, 0.25);
  EXPECT_FALSE(r.complete);
  auto idle = make_report(progress_direction::download, {0, 0});
  EXPECT_DOUBLE_EQ(idle.estimate, 1.0);
  EXPECT_TRUE(idle.complete);
  auto over = make_report(progress_direction::upload, {120, 100});
  EXPECT_EQ(over.transferred, 100u);
  EXPECT_TRUE(over.complete);
}

TEST(ProgressRegistry, RegistrationGetsTheCurrentFiguresAtOnce) {
  progress_registry registry;
  auto first =
      registry.add(1, progress_direction::upload, progress_mode::report_indefinitely, {10, 40});
  EXPECT_EQ(first.token, 1u);
  EXPECT_EQ(first.report.transferred, 10u);
  EXPECT_EQ(first.report.transferable, 40u);
  EXPECT_FALSE(first.last);
  EXPECT_TRUE(registry.contains(1));
}

TEST(ProgressRegistry, IndefiniteRegistrationReportsEveryChangeUntilRemoved) {
  progress_registry registry;
  registry.add(7, progress_direction::upload, progress_mode::report_indefinitely, {0, 0});
  auto a = registry.update(progress_direction::upload, {0, 100});
  ASSERT_EQ(a.size(), 1u);
  EXPECT_EQ(a[0].report.transferable, 100u);
  auto b = registry.update(progress_direction::upload, {100, 100});
  ASSERT_EQ(b.size(), 1u);
  EXPECT_TRUE(b[0].report.complete);
  EXPECT_FALSE(b[0].last);
  EXPECT_TRUE(registry.contains(7));
  EXPECT_TRUE(registry.update(progress_direction::upload, {100, 100}).empty());  // no change
  EXPECT_TRUE(registry.remove(7));
  EXPECT_FALSE(registry.remove(7));
  EXPECT_TRUE(registry.update(progress_direction::upload, {100, 300}).empty());
}

TEST(ProgressRegistry, OutstandingWorkCapturesTransferableAndRemovesItselfAfterFinalReport) {
  progress_registry registry;
  auto first = registry.add(3, progress_direction::download,
                            progress_mode::for_currently_outstanding_work, {10, 60});
  EXPECT_FALSE(first.last);
  // More work arriving later does not extend the captured target.
  auto mid = registry.update(progress_direction::download, {30, 500});
  ASSERT_EQ(mid.size(), 1u);
  EXPECT_EQ(mid[0].report.transferable, 60u);
  EXPECT_FALSE(mid[0].last);
  auto done = registry.update(progress_direction::download, {60, 500});
  ASSERT_EQ(done.size(), 1u);
  EXPECT_TRUE(done[0].report.complete);
  EXPECT_TRUE(done[0].last);
  EXPECT_FALSE(registry.contains(3));
  EXPECT_TRUE(registry.update(progress_direction::download, {100, 500}).empty());
}

TEST(ProgressRegistry, OutstandingWorkWithNothingOutstandingIsFinalAtOnce) {
  progress_registry registry;
  auto first = registry.add(4, progress_direction::upload,
                            progress_mode::for_currently_outstanding_work, {80, 80});
  EXPECT_TRUE(first.last);
  EXPECT_TRUE(first.report.complete);
  EXPECT_EQ(registry.size(), 0u);
}

TEST(ProgressRegistry, DirectionsAreIndependent) {
  progress_registry registry;
  registry.add(1, progress_direction::upload, progress_mode::report_indefinitely, {0, 0});
  registry.add(2, progress_direction::download, progress_mode::report_indefinitely, {0, 0});
  auto up = registry.update(progress_direction::upload, {0, 10});
  ASSERT_EQ(up.size(), 1u);
  EXPECT_EQ(up[0].token, 1u);
  EXPECT_EQ(up[0].report.direction, progress_direction::upload);
}

TEST(ProgressRegistry, TwoRegistrationsWithTheSameSettingsAreSeparateByToken) {
  progress_registry registry;
  registry.add(1, progress_direction::upload, progress_mode::report_indefinitely, {0, 0});
  registry.add(2, progress_direction::upload, progress_mode::report_indefinitely, {0, 0});
  EXPECT_TRUE(registry.remove(1));
  auto up = registry.update(progress_direction::upload, {0, 10});
  ASSERT_EQ(up.size(), 1u);
  EXPECT_EQ(up[0].token, 2u);
}

#include "storage/merge.hpp"

#include <gtest/gtest.h>

namespace actorsync::storage::merge {
namespace {

stamp at(std::uint64_t timestamp, std::uint64_t origin = 1, std::uint64_t version = 1,
         std::uint32_t index = 0) {
  return stamp{timestamp, origin, version, index};
}

object_state live_object() {
  object_state object;
  apply_create(object, at(1));
  return object;
}

TEST(Merge, StampsOrderByTimestampThenOriginThenVersionThenIndex) {
  EXPECT_LT(at(1, 9, 9, 9), at(2, 1, 1, 0));
  EXPECT_LT(at(5, 1, 9, 9), at(5, 2, 1, 0));
  EXPECT_LT(at(5, 2, 1, 9), at(5, 2, 2, 0));
  EXPECT_LT(at(5, 2, 2, 0), at(5, 2, 2, 1));
  EXPECT_LT(no_stamp, at(0, 0, 1, 0));
}

TEST(Merge, LastWriterWinsWhateverTheArrivalOrder) {
  field_state a, b;
  apply_set(a, at(10), std::string("old"));
  apply_set(a, at(20), std::string("new"));
  apply_set(b, at(20), std::string("new"));
  apply_set(b, at(10), std::string("old"));
  EXPECT_EQ(a, b);
  EXPECT_EQ(visible_value(a, live_object()), protocol::value(std::string("new")));
}

TEST(Merge, IntegerAddsCommuteAndStackOnTheLatestSet) {
  field_state a, b;
  apply_set(a, at(10), std::int64_t{100});
  apply_add(a, at(11), 5);
  apply_add(a, at(12), -2);
  apply_add(b, at(12), -2);
  apply_add(b, at(11), 5);
  apply_set(b, at(10), std::int64_t{100});
  EXPECT_EQ(visible_value(a, live_object()), protocol::value(std::int64_t{103}));
  EXPECT_EQ(visible_value(b, live_object()), protocol::value(std::int64_t{103}));
}

TEST(Merge, AddsOlderThanTheLatestSetAreOverwritten) {
  field_state f;
  apply_add(f, at(5), 7);
  apply_set(f, at(10), std::int64_t{1});
  apply_add(f, at(6), 7);
  EXPECT_TRUE(f.adds.empty());
  EXPECT_EQ(visible_value(f, live_object()), protocol::value(std::int64_t{1}));
}

TEST(Merge, AddOnANonIntegerCountsFromZero) {
  field_state f;
  apply_set(f, at(10), std::string("text"));
  EXPECT_EQ(visible_value(f, live_object()), protocol::value(std::string("text")));
  apply_add(f, at(11), 4);
  EXPECT_EQ(visible_value(f, live_object()), protocol::value(std::int64_t{4}));
}

TEST(Merge, IntegerAdditionWrapsInsteadOfOverflowing) {
  field_state f;
  apply_set(f, at(10), std::numeric_limits<std::int64_t>::max());
  apply_add(f, at(11), 1);
  EXPECT_EQ(visible_value(f, live_object()),
            protocol::value(std::numeric_limits<std::int64_t>::min()));
}

TEST(Merge, ObjectVisibleOnlyWhenNewestCreateIsNewerThanNewestErase) {
  object_state o;
  EXPECT_FALSE(o.visible());
  apply_erase(o, at(20));
  apply_create(o, at(10));
  EXPECT_FALSE(o.visible());
  apply_create(o, at(30));
  EXPECT_TRUE(o.visible());
}

TEST(Merge, EraseHidesConcurrentAndEarlierSetsButNotLaterOnes) {
  object_state o;
  apply_create(o, at(1));
  apply_erase(o, at(20));
  apply_create(o, at(30));  // re-created after the erase
  field_state before, after;
  apply_set(before, at(15), std::int64_t{1});
  apply_set(after, at(25), std::int64_t{2});
  EXPECT_EQ(visible_value(before, o), std::nullopt);
  EXPECT_EQ(visible_value(after, o), protocol::value(std::int64_t{2}));
}

TEST(Merge, AddsSurvivingAnEraseCountFromZero) {
  object_state o;
  apply_create(o, at(1));
  apply_erase(o, at(20));
  apply_create(o, at(30));
  field_state f;
  apply_set(f, at(10), std::int64_t{100});
  apply_add(f, at(15), 1);
  apply_add(f, at(25), 2);
  EXPECT_EQ(visible_value(f, o), protocol::value(std::int64_t{2}));
}

TEST(Merge, FieldsOfAnObjectNotCreatedYetAreKeptAndShowOnCreate) {
  object_state o;
  field_state f;
  apply_set(f, at(10), std::string("early"));
  EXPECT_EQ(visible_value(f, o), std::nullopt);
  apply_create(o, at(5));
  EXPECT_EQ(visible_value(f, o), protocol::value(std::string("early")));
}

TEST(Merge, ReapplyingTheSameInstructionChangesNothing) {
  field_state f;
  apply_set(f, at(10), std::int64_t{1});
  apply_add(f, at(11), 5);
  const auto once = f;
  apply_set(f, at(10), std::int64_t{1});
  apply_add(f, at(11), 5);
  EXPECT_EQ(f, once);
}

TEST(Merge, ValidateRefusesInvalidInstructions) {
  protocol::changeset cs;
  cs.client_version = 1;
  cs.instructions.emplace_back(protocol::set_field{"", "id", "f", std::int64_t{1}});
  EXPECT_FALSE(validate(cs).empty());
  cs.instructions[0] = protocol::set_field{"c", "id", "f", std::int64_t{1}};
  EXPECT_TRUE(validate(cs).empty());
  cs.client_version = 0;
  EXPECT_FALSE(validate(cs).empty());
}

}  // namespace
}  // namespace actorsync::storage::merge

#include "actors/flat_map.hpp"

#include <gtest/gtest.h>

#include <string>

using actorsync::runtime::flat_map;

TEST(FlatMap, KeepsEntriesInKeyOrderWhateverTheInsertionOrder) {
  flat_map<int, std::string> m;
  EXPECT_TRUE(m.emplace(3, "c").second);
  EXPECT_TRUE(m.emplace(1, "a").second);
  EXPECT_TRUE(m.emplace(2, "b").second);
  EXPECT_FALSE(m.emplace(2, "x").second);  // an existing key is kept
  std::string order;
  for (const auto& [key, value] : m) order += value;
  EXPECT_EQ(order, "abc");
  EXPECT_EQ(m.find(2)->second, "b");
  EXPECT_EQ(m.find(4), m.end());
}

TEST(FlatMap, InsertOrAssignReplacesTheValue) {
  flat_map<int, int> m;
  m.insert_or_assign(1, 10);
  m.insert_or_assign(1, 11);
  EXPECT_EQ(m.size(), 1u);
  EXPECT_EQ(m.find(1)->second, 11);
}

TEST(FlatMap, EraseByKeyIteratorAndPredicate) {
  flat_map<int, int> m;
  for (int i = 1; i <= 6; ++i) m.emplace(i, i * 10);
  EXPECT_EQ(m.erase(2), 1u);
  EXPECT_EQ(m.erase(2), 0u);
  for (auto i = m.begin(); i != m.end();) i = i->first == 4 ? m.erase(i) : std::next(i);
  EXPECT_EQ(erase_if(m, [](const auto& e) { return e.second > 40; }), 2u);
  EXPECT_EQ(m.size(), 2u);
  EXPECT_TRUE(m.contains(1));
  EXPECT_TRUE(m.contains(3));
  for (auto i = m.begin(); i != m.end();) i = m.erase(i);  // erasing the last one empties it
  EXPECT_TRUE(m.empty());
  m.emplace(7, 70);  // usable again after its buffer was released
  EXPECT_EQ(m.find(7)->second, 70);
}

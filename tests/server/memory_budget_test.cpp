// The memory budget's accounting and shedding on its own (no server): the largest account goes
// first, one at a time until the rest fit; a shed account's bytes leave the live total at once
// and the whole total when released; an account gives back what it holds when destroyed.
#include <gtest/gtest.h>

#include <vector>

#include "server/memory_budget.hpp"

namespace actorsync::server {
namespace {

struct counting_shed {
  std::vector<int>* order;
  int id;
  void operator()() const { order->push_back(id); }
};

TEST(MemoryBudgetAccounts, UnderTheLimitNothingIsShed) {
  auto budget = std::make_shared<memory_budget>(1000);
  std::vector<int> shed;
  auto a = budget->open_account(counting_shed{&shed, 1});
  auto b = budget->open_account(counting_shed{&shed, 2});
  a->charge(400);
  b->charge(600);
  EXPECT_TRUE(shed.empty());
  EXPECT_EQ(budget->used(), 1000u);
  b->release(100);
  EXPECT_EQ(budget->used(), 900u);
  EXPECT_EQ(budget->live(), 900u);
}

TEST(MemoryBudgetAccounts, TheLargestAccountsAreShedUntilTheRestFit) {
  auto budget = std::make_shared<memory_budget>(1000);
  std::vector<int> shed;
  auto small = budget->open_account(counting_shed{&shed, 1});
  auto large = budget->open_account(counting_shed{&shed, 2});
  auto middle = budget->open_account(counting_shed{&shed, 3});
  small->charge(100);
  large->charge(600);
  middle->charge(250);
  EXPECT_TRUE(shed.empty());
  // The small one passes the limit; the large one goes, and that is enough.
  small->charge(100);
  EXPECT_EQ(shed, (std::vector<int>{2}));
  EXPECT_TRUE(large->shed());
  EXPECT_EQ(budget->live(), 450u);
  EXPECT_EQ(budget->used(), 1050u);  // until the shed connection lets go
  EXPECT_EQ(budget->shed_count(), 1u);
  // Charges of a shed account do not count toward the limit, and it is not shed twice.
  large->charge(5000);
  EXPECT_EQ(shed, (std::vector<int>{2}));
  EXPECT_EQ(budget->live(), 450u);
  large.reset();
  EXPECT_EQ(budget->used(), 450u);
  // One charge far over the limit sheds as many as needed, largest first.
  middle->charge(600);  // middle 850, small 200
  EXPECT_EQ(shed, (std::vector<int>{2, 3}));
  EXPECT_EQ(budget->live(), 200u);
}

TEST(MemoryBudgetAccounts, AChargeOverTheLimitMayShedItsOwnAccount) {
  auto budget = std::make_shared<memory_budget>(1000);
  std::vector<int> shed;
  auto quiet = budget->open_account(counting_shed{&shed, 1});
  auto flood = budget->open_account(counting_shed{&shed, 2});
  quiet->charge(10);
  flood->charge(2000);
  EXPECT_EQ(shed, (std::vector<int>{2}));
  EXPECT_FALSE(quiet->shed());
  EXPECT_EQ(budget->live(), 10u);
}

TEST(MemoryBudgetAccounts, TheDefaultIsAQuarterOfTheMachine) {
  EXPECT_GE(default_memory_budget_bytes(), std::size_t{16} << 20);
}

}  // namespace
}  // namespace actorsync::server

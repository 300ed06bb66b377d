#include "actors/link_outbox.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

using actorsync::runtime::link_outbox;

namespace {

std::vector<std::string> drain(link_outbox<std::string>& outbox) {
  std::vector<std::string> out;
  while (auto f = outbox.pop()) out.push_back(*f);
  return out;
}

}  // namespace

TEST(LinkOutbox, BusySessionDoesNotStarveOthers) {
  link_outbox<std::string> outbox;
  for (int i = 0; i < 3; ++i) outbox.push(1, "a" + std::to_string(i), 100);
  outbox.push(2, "b0", 10);
  outbox.push(3, "c0", 10);
  EXPECT_EQ(drain(outbox), (std::vector<std::string>{"a0", "b0", "c0", "a1", "a2"}));
  EXPECT_TRUE(outbox.empty());
  EXPECT_EQ(outbox.bytes(), 0u);
}

TEST(LinkOutbox, PriorityFramesGoFirst) {
  link_outbox<std::string> outbox;
  outbox.push(1, "upload", 1000);
  outbox.push_priority("ping", 8);
  EXPECT_EQ(outbox.bytes(), 1008u);
  EXPECT_EQ(drain(outbox), (std::vector<std::string>{"ping", "upload"}));
}

TEST(LinkOutbox, OrderWithinOneSessionIsKept) {
  link_outbox<std::string> outbox;
  outbox.push(7, "bind", 1);
  outbox.push(7, "ident", 1);
  outbox.push(7, "upload", 1);
  EXPECT_EQ(drain(outbox), (std::vector<std::string>{"bind", "ident", "upload"}));
}

TEST(LinkOutbox, ClearForgetsEverything) {
  link_outbox<std::string> outbox;
  outbox.push(1, "x", 5);
  outbox.push_priority("p", 5);
  outbox.clear();
  EXPECT_TRUE(outbox.empty());
  EXPECT_EQ(outbox.bytes(), 0u);
  EXPECT_FALSE(outbox.pop());
}

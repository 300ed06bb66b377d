// The NATS bus against real nats-server processes (tools/nats-test-instance.sh): requests and
// replies, no responders told apart from timeouts, subscriptions, a 3-server NATS cluster,
// reconnecting after a server dies, and closing with requests pending.
#include "cluster/nats_bus.hpp"

#include <gtest/gtest.h>

#include <future>
#include <mutex>

#include "tests/cluster/nats_instance.hpp"
#include "tests/support/eventually.hpp"

namespace actorsync::cluster {
namespace {

using namespace std::chrono_literals;
using testing::eventually;
using testing::nats_instance;

struct outcome {
  bool ok = false;
  std::string payload;
  bus_error error{};
};

/// Starts a request; the future is ready once `done` ran.
std::future<outcome> start_request(nats_bus& bus, const std::string& subject,
                                   std::string_view payload, std::chrono::milliseconds timeout) {
  auto promise = std::make_shared<std::promise<outcome>>();
  auto future = promise->get_future();
  bus.request(subject, payload, timeout, [promise](bool ok, std::string reply, bus_error error) {
    promise->set_value({ok, std::move(reply), std::move(error)});
  });
  return future;
}

/// A request and its outcome (`done` always runs: a request never outlives its timeout).
outcome request(nats_bus& bus, const std::string& subject, std::string_view payload,
                std::chrono::milliseconds timeout = 5s) {
  auto future = start_request(bus, subject, payload, timeout);
  if (future.wait_for(timeout + 20s) != std::future_status::ready) {
    ADD_FAILURE() << "request to " << subject << " never completed";
    return {};
  }
  return future.get();
}

std::shared_ptr<nats_bus> connect(std::vector<std::string> urls, const std::string& name) {
  auto bus = nats_bus::connect({std::move(urls), name});
  if (!bus) throw std::runtime_error(bus.error().message);
  return bus.value();
}

std::shared_ptr<nats_bus> connect(const std::string& url, const std::string& name) {
  return connect(std::vector<std::string>{url}, name);
}

/// Answers every request with "echo:" + its payload.
bus_subscription echo(nats_bus& bus, const std::string& subject) {
  auto subscription =
      bus.subscribe(subject, [](std::string_view, std::string payload, bus_responder reply) {
        reply.respond("echo:" + payload);
      });
  if (!subscription) throw std::runtime_error(subscription.error().message);
  return std::move(subscription.value());
}

const std::string upload_subject = "realm." + subject_token("/orders") + ".upload";

TEST(NatsBus, RequestGetsTheSubscribersReply) {
  ACTORSYNC_REQUIRE_NATS();
  nats_instance nats;
  auto owner = connect(nats.url(), "owner");
  auto other = connect(nats.url(), "other");
  auto subscription = echo(*owner, "realm.*.upload");

  const auto reply = request(*other, upload_subject, "changeset");
  ASSERT_TRUE(reply.ok) << reply.error.message;
  EXPECT_EQ(reply.payload, "echo:changeset");
  const auto stats = other->stats();
  EXPECT_EQ(stats.requests, 1u);
  EXPECT_EQ(stats.replies, 1u);
  EXPECT_TRUE(stats.connected);
  EXPECT_EQ(owner->stats().received, 1u);
}

TEST(NatsBus, RequestNobodySubscribesToFailsWithNoRespondersNotTimeout) {
  ACTORSYNC_REQUIRE_NATS();
  nats_instance nats;
  auto bus = connect(nats.url(), "node");
  // A long timeout: without the server's no-responders status this would end as a timeout.
  const auto reply = request(*bus, upload_subject, "changeset", 10s);
  EXPECT_FALSE(reply.ok);
  EXPECT_EQ(reply.error.code, bus_errc::no_responders) << reply.error.message;
  EXPECT_EQ(bus->stats().no_responders, 1u);
  EXPECT_EQ(bus->stats().timeouts, 0u);
}

TEST(NatsBus, RequestTimesOutWhenTheSubscriberNeverAnswers) {
  ACTORSYNC_REQUIRE_NATS();
  nats_instance nats;
  auto owner = connect(nats.url(), "owner");
  auto other = connect(nats.url(), "other");
  std::atomic<int> seen = 0;
  auto silent = owner->subscribe(upload_subject, [&](std::string_view, std::string, bus_responder) {
    ++seen;  // and no answer
  });
  ASSERT_TRUE(silent) << silent.error().message;

  const auto reply = request(*other, upload_subject, "changeset", 200ms);
  EXPECT_FALSE(reply.ok);
  EXPECT_EQ(reply.error.code, bus_errc::timeout) << reply.error.message;
  EXPECT_EQ(other->stats().timeouts, 1u);
  EXPECT_EQ(seen.load(), 1);
}

TEST(NatsBus, DestroyingTheSubscriptionUnsubscribes) {
  ACTORSYNC_REQUIRE_NATS();
  nats_instance nats;
  // One bus: its unsubscribe reaches the server before its next request.
  auto bus = connect(nats.url(), "node");
  auto subscription = echo(*bus, upload_subject);
  ASSERT_TRUE(request(*bus, upload_subject, "first").ok);

  subscription.reset();
  EXPECT_FALSE(subscription);
  EXPECT_EQ(request(*bus, upload_subject, "second").error.code, bus_errc::no_responders);
}

TEST(NatsBus, PublishReachesAWildcardSubscriber) {
  ACTORSYNC_REQUIRE_NATS();
  nats_instance nats;
  auto listener = connect(nats.url(), "listener");
  auto notifier = connect(nats.url(), "notifier");
  std::mutex mutex;
  std::vector<std::pair<std::string, std::string>> notices;
  bool expected_reply = true;
  auto subscription = listener->subscribe(
      "changes.>", [&](std::string_view subject, std::string payload, bus_responder reply) {
        std::lock_guard lock(mutex);
        notices.emplace_back(subject, std::move(payload));
        expected_reply = reply.expects_reply();
      });
  ASSERT_TRUE(subscription) << subscription.error().message;

  ASSERT_TRUE(notifier->publish("changes." + subject_token("/orders") + ".v42", "42"));
  ASSERT_TRUE(eventually([&] {
    std::lock_guard lock(mutex);
    return notices.size() == 1;
  })) << "the notice never arrived";
  std::lock_guard lock(mutex);
  EXPECT_EQ(notices[0].first, "changes." + subject_token("/orders") + ".v42");
  EXPECT_EQ(notices[0].second, "42");
  EXPECT_FALSE(expected_reply);
  EXPECT_EQ(notifier->stats().published, 1u);
}

TEST(NatsBus, RequestsCrossTheServersOfANatsCluster) {
  ACTORSYNC_REQUIRE_NATS();
  nats_instance nats(3);
  auto owner = connect(nats.url(2), "owner");
  auto other = connect(nats.url(0), "other");
  ASSERT_EQ(owner->connected_url(), nats.url(2));
  ASSERT_EQ(other->connected_url(), nats.url(0));
  auto subscription = echo(*owner, upload_subject);

  // Server 3 tells servers 1 and 2 of the subscription shortly after it has it.
  outcome reply;
  ASSERT_TRUE(eventually([&] {
    reply = request(*other, upload_subject, "changeset", 2s);
    return reply.ok || reply.error.code != bus_errc::no_responders;
  })) << "the subscription never reached server 1";
  ASSERT_TRUE(reply.ok) << reply.error.message;
  EXPECT_EQ(reply.payload, "echo:changeset");
}

TEST(NatsBus, ReconnectsToAnotherServerWhenItsServerDies) {
  ACTORSYNC_REQUIRE_NATS();
  nats_instance nats(3);
  auto owner = connect(nats.urls(), "owner");
  auto other = connect(nats.urls(), "other");
  auto subscription = echo(*owner, upload_subject);
  ASSERT_TRUE(eventually([&] { return request(*other, upload_subject, "before", 2s).ok; }));

  const auto killed = other->connected_url();
  nats.kill_member(nats.member_of(killed));

  // The reconnect counter follows the connection state (libnats' callback thread).
  ASSERT_TRUE(eventually([&] {
    return other->connected() && other->connected_url() != killed && other->stats().reconnects == 1;
  })) << "never reconnected after "
      << killed << " died";
  outcome reply;
  ASSERT_TRUE(eventually([&] {
    reply = request(*other, upload_subject, "after", 2s);
    return reply.ok;
  })) << "requests never worked again: "
      << reply.error.message;
  EXPECT_EQ(reply.payload, "echo:after");
}

TEST(NatsBus, WhileReconnectingRequestsFailAtOnceAndPublishReturnsFalse) {
  ACTORSYNC_REQUIRE_NATS();
  nats_instance nats;
  auto bus = connect(nats.url(), "node");
  auto subscription = echo(*bus, upload_subject);
  nats.kill_member(0);
  ASSERT_TRUE(eventually([&] { return !bus->connected(); }));

  // A long timeout: the request must not wait for the server to come back.
  const auto reply = request(*bus, upload_subject, "lost", 60s);
  EXPECT_EQ(reply.error.code, bus_errc::disconnected) << reply.error.message;
  EXPECT_FALSE(bus->publish("changes.x", "lost"));
  EXPECT_FALSE(bus->stats().connected);

  nats.start_member(0);
  ASSERT_TRUE(eventually([&] { return bus->connected(); }));
  // libnats subscribed again on reconnect.
  ASSERT_TRUE(eventually([&] { return request(*bus, upload_subject, "back", 2s).ok; }));
  EXPECT_TRUE(eventually([&] { return bus->stats().reconnects == 1; }));
}

TEST(NatsBus, DestroyingTheBusCompletesPendingRequestsWithClosed) {
  ACTORSYNC_REQUIRE_NATS();
  nats_instance nats;
  auto owner = connect(nats.url(), "owner");
  auto silent =
      owner->subscribe(upload_subject, [](std::string_view, std::string, bus_responder) {});
  ASSERT_TRUE(silent);
  auto other = connect(nats.url(), "other");
  auto first = start_request(*other, upload_subject, "one", 60s);
  auto second = start_request(*other, upload_subject, "two", 60s);
  ASSERT_TRUE(eventually([&] { return owner->stats().received == 2; }));

  other.reset();
  // The destructor returns after the callbacks ran.
  ASSERT_EQ(first.wait_for(0s), std::future_status::ready);
  ASSERT_EQ(second.wait_for(0s), std::future_status::ready);
  EXPECT_EQ(first.get().error.code, bus_errc::closed);
  EXPECT_EQ(second.get().error.code, bus_errc::closed);
}

TEST(NatsBus, ConnectingToADeadPortSaysConnectionRefusedAndNamesTheUrl) {
  // No server needed: nothing listens on port 1.
  auto bus = nats_bus::connect({{"nats://127.0.0.1:1"}, "node"});
  ASSERT_FALSE(bus);
  EXPECT_EQ(bus.error().code, storage::storage_errc::unavailable);
  EXPECT_NE(bus.error().message.find("nats://127.0.0.1:1"), std::string::npos)
      << bus.error().message;
  EXPECT_NE(bus.error().message.find("refused"), std::string::npos) << bus.error().message;
}

TEST(NatsBus, InvalidSubjectsAreRefusedWithoutSending) {
  ACTORSYNC_REQUIRE_NATS();
  nats_instance nats;
  auto bus = connect(nats.url(), "node");
  EXPECT_EQ(request(*bus, "realm.*.upload", "x").error.code, bus_errc::invalid_request);
  EXPECT_EQ(request(*bus, "realm..upload", "x").error.code, bus_errc::invalid_request);
  EXPECT_EQ(request(*bus, "realm /orders", "x").error.code, bus_errc::invalid_request);
  const std::string too_large(static_cast<std::size_t>(bus->max_payload()) + 1, 'x');
  EXPECT_EQ(request(*bus, upload_subject, too_large).error.code, bus_errc::invalid_request);
  EXPECT_FALSE(bus->publish("changes.>", "x"));
  auto subscription = bus->subscribe("changes.>.x", [](auto, auto, auto) {});
  ASSERT_FALSE(subscription);
  EXPECT_EQ(subscription.error().code, storage::storage_errc::invalid_argument);
  EXPECT_EQ(bus->stats().requests, 0u);
  EXPECT_TRUE(bus->connected()) << "an invalid subject must never reach the server";
}

TEST(SubjectToken, IsTheLowerCaseHexOfThePath) {
  EXPECT_EQ(subject_token("/a.B *>"), "2f612e42202a3e");
  EXPECT_EQ(subject_token(std::string("\xff\x00", 2)), "ff00");
}

}  // namespace
}  // namespace actorsync::cluster

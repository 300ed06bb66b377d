// What nodes say to each other over the bus: every message reads back as written, and bytes
// that are not a well-formed message of the expected kind are refused with a reason (a node
// never crashes or allocates on another's malformed request).
#include "cluster/bus_messages.hpp"

#include <gtest/gtest.h>

namespace actorsync::cluster {
namespace {

bus_request sample_request() {
  bus_request r;
  r.kind = bus_request_kind::upload;
  r.realm = "/a.b/c d";  // characters a NATS subject token may not hold
  r.from_node = "node-1";
  r.client = {7, 0x1234};
  protocol::changeset cs;
  cs.client_version = 3;
  cs.last_integrated_server_version = 2;
  cs.instructions.emplace_back(protocol::set_field{"c", "x", "f", std::string("v")});
  r.changesets = {cs, cs};
  r.changesets[1].client_version = 4;
  return r;
}

TEST(BusMessages, EveryMessageReadsBackAsWritten) {
  const auto request = sample_request();
  auto read = decode_bus_request(encode(request));
  ASSERT_TRUE(read.ok()) << read.error().message;
  EXPECT_EQ(read.value().kind, request.kind);
  EXPECT_EQ(read.value().realm, request.realm);
  EXPECT_EQ(read.value().from_node, request.from_node);
  EXPECT_EQ(read.value().client.ident, 7u);
  EXPECT_EQ(read.value().client.salt, 0x1234u);
  EXPECT_EQ(read.value().changesets, request.changesets);

  bus_reply refused;
  refused.ok = false;
  refused.error = storage::storage_errc::realm_lost;
  refused.message = "taken";
  auto reply = decode_bus_reply(encode(refused));
  ASSERT_TRUE(reply.ok());
  EXPECT_FALSE(reply.value().ok);
  EXPECT_EQ(reply.value().error, storage::storage_errc::realm_lost);
  EXPECT_EQ(reply.value().message, "taken");

  bus_reply granted;
  granted.integration = {11, 4, 2, 99};
  granted.grant = {5, 6};
  auto ok = decode_bus_reply(encode(granted));
  ASSERT_TRUE(ok.ok());
  EXPECT_TRUE(ok.value().ok);
  EXPECT_EQ(ok.value().integration.server_version, 11u);
  EXPECT_EQ(ok.value().integration.last_integrated_client_version, 4u);
  EXPECT_EQ(ok.value().grant.salt, 6u);

  auto notice = decode_change_notice(encode(change_notice{"/r", 42}));
  ASSERT_TRUE(notice.ok());
  EXPECT_EQ(notice.value().realm, "/r");
  EXPECT_EQ(notice.value().version, 42u);
}

TEST(BusMessages, MalformedBytesAreRefusedWithAReason) {
  const auto bytes = encode(sample_request());
  // Every truncation of a valid request, and a byte too many.
  for (std::size_t size = 0; size < bytes.size(); ++size) {
    auto read = decode_bus_request(std::string_view(bytes).substr(0, size));
    ASSERT_FALSE(read.ok()) << size;
    EXPECT_EQ(read.error().code, storage::storage_errc::invalid_argument);
    EXPECT_NE(read.error().message.find("malformed bus"), std::string::npos);
  }
  EXPECT_FALSE(decode_bus_request(bytes + "x").ok());
  // A reply or a notice is not a request, and the reverse.
  EXPECT_FALSE(decode_bus_request(encode(bus_reply{})).ok());
  EXPECT_FALSE(decode_bus_reply(bytes).ok());
  EXPECT_FALSE(decode_change_notice(bytes).ok());
  // An unknown kind.
  auto unknown = bytes;
  unknown[1] = 9;
  EXPECT_FALSE(decode_bus_request(unknown).ok());
  // A changeset count the bytes cannot back is refused before anything is reserved.
  bus_request empty;
  empty.realm = "/r";
  auto huge = encode(empty);
  for (std::size_t i = huge.size() - 8; i < huge.size(); ++i) huge[i] = '\xff';
  auto read = decode_bus_request(huge);
  ASSERT_FALSE(read.ok());
  EXPECT_NE(read.error().message.find("changeset count"), std::string::npos);
  // An error code no store has.
  auto reply = encode(bus_reply{});
  reply[1] = 120;
  EXPECT_FALSE(decode_bus_reply(reply).ok());
}

TEST(BusMessages, SubjectsHoldAnyRealmPathAsOneToken) {
  const auto subject = realm_subject("/a.b/c d*>");
  EXPECT_EQ(subject.rfind("actorsync.realm.", 0), 0u);
  EXPECT_EQ(subject.find_first_of(" *>", 0), std::string::npos);
  EXPECT_EQ(subject.find('.', std::string("actorsync.realm.").size()), std::string::npos);
  EXPECT_NE(realm_subject("/a"), realm_subject("/b"));
  EXPECT_NE(change_subject("/a"), realm_subject("/a"));
}

}  // namespace
}  // namespace actorsync::cluster

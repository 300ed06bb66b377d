#include "protocol/codec.hpp"

#include <gtest/gtest.h>

#include <limits>

namespace actorsync::protocol {
namespace {

changeset sample_changeset() {
  changeset c;
  c.client_version = 7;
  c.last_integrated_server_version = 3;
  c.origin_timestamp = 1700000000000;
  c.instructions = {create_object{"tasks", "t1"},
                    set_field{"tasks", "t1", "title", std::string("write tests")},
                    set_field{"tasks", "t1", "done", false},
                    set_field{"tasks", "t1", "ratio", 0.5},
                    set_field{"tasks", "t1", "blob", binary{0, 1, 2, 255}},
                    set_field{"tasks", "t1", "nothing", std::monostate{}},
                    add_integer{"tasks", "t1", "count", -5},
                    erase_object{"tasks", "t0"}};
  return c;
}

template <class Message>
void expect_client_round_trip(const Message& original) {
  byte_buffer bytes;
  encode(client_message{original}, bytes);
  auto decoded = decode_client_message(bytes);
  ASSERT_TRUE(decoded.ok()) << decoded.error().reason;
  ASSERT_TRUE(std::holds_alternative<Message>(decoded.message()));
  EXPECT_EQ(std::get<Message>(decoded.message()), original);
}

template <class Message>
void expect_server_round_trip(const Message& original) {
  byte_buffer bytes;
  encode(server_message{original}, bytes);
  auto decoded = decode_server_message(bytes);
  ASSERT_TRUE(decoded.ok()) << decoded.error().reason;
  ASSERT_TRUE(std::holds_alternative<Message>(decoded.message()));
  EXPECT_EQ(std::get<Message>(decoded.message()), original);
}

constexpr auto max_u64 = std::numeric_limits<std::uint64_t>::max();

TEST(CodecRoundTrip, EveryClientMessageSurvivesEncodeDecode) {
  expect_client_round_trip(bind_message{1, "/orders", "tok"});
  expect_client_round_trip(bind_message{max_u64, "/", ""});
  expect_client_round_trip(client_ident_message{2, 0, 0, 0, 0});
  expect_client_round_trip(client_ident_message{2, max_u64, max_u64, max_u64, max_u64});
  expect_client_round_trip(upload_message{3, 7, 3, {}});
  expect_client_round_trip(upload_message{3, 7, 3, {sample_changeset(), sample_changeset()}});
  expect_client_round_trip(client_mark_message{4, max_u64});
  expect_client_round_trip(unbind_message{5});
  expect_client_round_trip(ping_message{0});
}

TEST(CodecRoundTrip, EveryServerMessageSurvivesEncodeDecode) {
  expect_server_round_trip(server_ident_message{1, 42, 99});
  expect_server_round_trip(download_message{2, 10, 7, 0, {}});
  expect_server_round_trip(download_message{2, max_u64, max_u64, max_u64, {sample_changeset()}});
  expect_server_round_trip(server_mark_message{3, 1});
  expect_server_round_trip(unbound_message{4});
  expect_server_round_trip(error_message{208, "bad changeset", false, 4});
  expect_server_round_trip(error_message{110, "", true, 0});
  expect_server_round_trip(pong_message{max_u64});
}

TEST(CodecRoundTrip, IntegerValuesKeepTheirExtremes) {
  changeset c = sample_changeset();
  c.instructions = {set_field{"c", "o", "min", std::numeric_limits<std::int64_t>::min()},
                    set_field{"c", "o", "max", std::numeric_limits<std::int64_t>::max()},
                    set_field{"c", "o", "zero", std::int64_t{0}}};
  expect_client_round_trip(upload_message{1, 1, 0, {c}});
}

TEST(CodecRoundTrip, ServerMessageIsRefusedByTheClientDecoderAndViceVersa) {
  byte_buffer bytes;
  encode(server_message{pong_message{1}}, bytes);
  auto as_client = decode_client_message(bytes);
  ASSERT_FALSE(as_client.ok());
  EXPECT_EQ(as_client.error().code, error_code::unknown_message);
}

}  // namespace
}  // namespace actorsync::protocol

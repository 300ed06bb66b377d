#include "protocol/codec.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include <actorsync/protocol/limits.hpp>
#include "tests/protocol/protocol_samples.hpp"

namespace actorsync::protocol {
namespace {

using samples::sample_changeset;

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

// protocol.md §4.2 IDENT: the example of a salt above 2^53, byte for byte, both ways.
TEST(CodecRoundTrip, ASaltAbove2To53IsEncodedAsUint64AndDecodesExactly) {
  const server_ident_message ident{1, 42, 0x7edcba9876543210};
  static_assert(0x7edcba9876543210 > (std::uint64_t{1} << 53));
  const byte_buffer documented{0x94, 0x11, 0x01, 0x2a, 0xcf, 0x7e, 0xdc,
                               0xba, 0x98, 0x76, 0x54, 0x32, 0x10};
  byte_buffer bytes;
  encode(server_message{ident}, bytes);
  EXPECT_EQ(bytes, documented);
  expect_server_round_trip(ident);
  expect_client_round_trip(client_ident_message{1, 42, 0x7edcba9876543210, 17, 9});
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

TEST(CodecRoundTrip, EveryUnsignedFieldKeepsZeroAndMaximum) {
  for (std::uint64_t v :
       {std::uint64_t{0}, std::uint64_t{1}, std::uint64_t{127}, std::uint64_t{128},
        std::uint64_t{255}, std::uint64_t{256}, std::uint64_t{65535}, std::uint64_t{65536},
        std::uint64_t{4294967295u}, std::uint64_t{4294967296u}, max_u64}) {
    SCOPED_TRACE(v);
    changeset c{std::max<std::uint64_t>(v, 1), v, v, v, v, {}};
    expect_client_round_trip(client_ident_message{1, v, v, v, v});
    expect_client_round_trip(upload_message{1, v, v, {c}});
    expect_client_round_trip(client_mark_message{1, v});
    expect_client_round_trip(ping_message{v});
    expect_server_round_trip(server_ident_message{1, std::max<std::uint64_t>(v, 1), v});
    expect_server_round_trip(download_message{1, v, v, v, {c}});
    expect_server_round_trip(server_mark_message{1, v});
    expect_server_round_trip(pong_message{v});
  }
}

TEST(CodecRoundTrip, EmptyListsAndEmptyStringsWhereAllowed) {
  expect_client_round_trip(upload_message{1, 0, 0, {}});
  expect_client_round_trip(upload_message{1, 1, 0, {changeset{1, 0, 0, 0, 0, {}}}});
  expect_server_round_trip(download_message{1, 0, 0, 0, {}});
  expect_client_round_trip(bind_message{1, "/a", ""});
  expect_server_round_trip(error_message{201, "", true, 1});
  changeset c{1, 0, 0,
              0, 0, {set_field{"c", "o", "f", std::string()}, set_field{"c", "o", "g", binary{}}}};
  expect_client_round_trip(upload_message{1, 1, 0, {c}});
}

TEST(CodecRoundTrip, FieldsExactlyAtTheirLimitsAreAccepted) {
  const std::string name(limits::max_name_bytes, 'n');
  changeset c{1,
              0,
              0,
              0,
              0,
              {create_object{name, name}, add_integer{name, name, name, 1},
               set_field{"c", "o", "s", std::string(limits::max_value_bytes, 's')},
               set_field{"c", "o", "b", binary(limits::max_value_bytes, 0xb1)},
               set_field{"c", "o", "b2", binary(limits::max_value_bytes - 1, 0x00)}}};
  expect_client_round_trip(upload_message{1, 1, 0, {c}});
  expect_client_round_trip(bind_message{1, "/" + std::string(limits::max_realm_path_bytes - 1, 'p'),
                                        std::string(limits::max_token_bytes, 't')});
  expect_server_round_trip(
      error_message{101, std::string(limits::max_error_message_bytes, 'e'), true, 0});
}

TEST(CodecRoundTrip, TenThousandSmallChangesetsInOneUploadAndOneDownload) {
  std::vector<changeset> many;
  for (std::uint64_t v = 1; v <= 10000; ++v) {
    many.push_back(changeset{v,
                             v / 2,
                             0,
                             0,
                             1700000000000 + v,
                             {set_field{"items", std::string("i").append(std::to_string(v)), "text",
                                        std::string(64, static_cast<char>('a' + v % 26))}}});
  }
  expect_client_round_trip(upload_message{1, 10000, 5000, many});
  for (auto& c : many) c.server_version = c.client_version + 100, c.origin_file_ident = 3;
  expect_server_round_trip(download_message{1, 10100, 10000, 123456, many});
}

TEST(CodecRoundTrip, MaximumChangesetsAndInstructionsAreAccepted) {
  upload_message upload{1, 1, 0, {}};
  upload.changesets.assign(limits::max_changesets_per_message, changeset{1, 0, 0, 0, 0, {}});
  expect_client_round_trip(upload);
  changeset big{1, 0, 0, 0, 0, {}};
  big.instructions.assign(limits::max_instructions_per_changeset, erase_object{"c", "o"});
  expect_client_round_trip(upload_message{1, 1, 0, {big}});
}

TEST(CodecRoundTrip, FloatValuesKeepTheirBitsIncludingNanAndSignedZero) {
  for (double d :
       {0.0, -0.0, 1e-310, -1.5, std::numeric_limits<double>::max(),
        std::numeric_limits<double>::infinity(), -std::numeric_limits<double>::infinity(),
        std::numeric_limits<double>::quiet_NaN()}) {
    changeset c{1, 0, 0, 0, 0, {set_field{"c", "o", "f", d}}};
    byte_buffer bytes;
    encode(client_message{upload_message{1, 1, 0, {c}}}, bytes);
    auto decoded = decode_client_message(bytes);
    ASSERT_TRUE(decoded.ok()) << decoded.error().reason;
    const auto& in = std::get<set_field>(
        std::get<upload_message>(decoded.message()).changesets[0].instructions[0]);
    const double back = std::get<double>(in.new_value);
    EXPECT_EQ(std::signbit(back), std::signbit(d));
    if (std::isnan(d)) {
      EXPECT_TRUE(std::isnan(back));
    } else {
      EXPECT_EQ(back, d);
    }
  }
}

// Other encoders may pick different (valid) msgpack encodings; the decoder accepts them.
TEST(CodecRoundTrip, NonCanonicalEncodingsFromOtherWritersAreAccepted) {
  // PING with the timestamp 5 as uint64, and UNBIND with session 5 as a positive int8.
  auto ping = decode_client_message(byte_buffer{0x92, 0x06, 0xcf, 0, 0, 0, 0, 0, 0, 0, 5});
  ASSERT_TRUE(ping.ok()) << ping.error().reason;
  EXPECT_EQ(std::get<ping_message>(ping.message()).timestamp, 5u);
  auto unbind = decode_client_message(byte_buffer{0x92, 0x05, 0xd0, 0x05});
  ASSERT_TRUE(unbind.ok()) << unbind.error().reason;
  EXPECT_EQ(std::get<unbind_message>(unbind.message()).session, 5u);
  // UNBIND framed with array16, BIND's path as str8 and its token as str32.
  auto framed = decode_client_message(byte_buffer{0xdc, 0x00, 0x02, 0x05, 0x07});
  ASSERT_TRUE(framed.ok()) << framed.error().reason;
  auto bind = decode_client_message(
      byte_buffer{0x94, 0x01, 0x01, 0xd9, 0x02, '/', 'a', 0xdb, 0, 0, 0, 1, 't'});
  ASSERT_TRUE(bind.ok()) << bind.error().reason;
  EXPECT_EQ(std::get<bind_message>(bind.message()), (bind_message{1, "/a", "t"}));
}

TEST(CodecRoundTrip, Float32ValuesDecodeAsDoubles) {
  // UPLOAD [3,1,1,0,[[1,0,0,0,0,[[3,"c","o","f",float32 1.5]]]]]
  const byte_buffer bytes{0x95, 0x03, 0x01, 0x01, 0x00, 0x91, 0x96, 0x01, 0x00,
                          0x00, 0x00, 0x00, 0x91, 0x95, 0x03, 0xa1, 'c',  0xa1,
                          'o',  0xa1, 'f',  0xca, 0x3f, 0xc0, 0x00, 0x00};
  auto decoded = decode_client_message(bytes);
  ASSERT_TRUE(decoded.ok()) << decoded.error().reason;
  const auto& in = std::get<set_field>(
      std::get<upload_message>(decoded.message()).changesets[0].instructions[0]);
  EXPECT_EQ(std::get<double>(in.new_value), 1.5);
}

// Found by the fuzzer: a float32 holding a whole number above INT64_MAX was re-encoded by
// msgpack-c's pack_double as uint64 and then refused as an out-of-range integer.
TEST(CodecRoundTrip, WholeFloatsStayFloatsAfterReEncoding) {
  const byte_buffer stored{0x96, 0x12, 0x27, 0x12, 0x10, 0x00, 0x91, 0x95, 0x03, 0xa5,
                           't',  'a',  's',  'k',  's',  0xa2, 't',  '1',  0xa5, 's',
                           'e',  'm',  't',  'N',  0xca, 0x5f, 0x02, 0x11, 0x09};
  auto first = decode_changeset(stored);
  ASSERT_TRUE(first.ok()) << first.error().reason;
  byte_buffer again;
  encode_changeset(first.message(), again);
  auto second = decode_changeset(again);
  ASSERT_TRUE(second.ok()) << second.error().reason;
  EXPECT_EQ(second.message(), first.message());
  for (double whole : {0.0, 1.0, -3.0, 1e18}) {
    changeset c{1, 0, 0, 0, 0, {set_field{"c", "o", "f", whole}}};
    expect_client_round_trip(upload_message{1, 1, 0, {c}});
  }
}

TEST(CodecRoundTrip, StoredChangesetRoundTripsAndEncodedSizeMatchesItsBytes) {
  const auto c = sample_changeset();
  byte_buffer bytes;
  encode_changeset(c, bytes);
  EXPECT_EQ(encoded_size(c), bytes.size());
  auto decoded = decode_changeset(bytes);
  ASSERT_TRUE(decoded.ok()) << decoded.error().reason;
  EXPECT_EQ(decoded.message(), c);
  EXPECT_EQ(validate(c), "");
}

TEST(CodecRoundTrip, EncodeAppendsToWhatTheBufferHolds) {
  byte_buffer bytes{0xaa};
  encode(client_message{unbind_message{1}}, bytes);
  EXPECT_EQ(bytes, (byte_buffer{0xaa, 0x92, 0x05, 0x01}));
}

TEST(CodecValidation, ValidateNamesTheFirstProblem) {
  changeset c{0, 0, 0, 0, 0, {}};
  EXPECT_NE(validate(c), "");
  EXPECT_NE(validate(instruction{create_object{"", "o"}}), "");
  EXPECT_NE(validate(instruction{set_field{"c", "o", "f", binary(limits::max_value_bytes + 1)}}),
            "");
  EXPECT_EQ(validate(instruction{add_integer{"c", "o", "f", -1}}), "");
  EXPECT_EQ(validate_realm_path("/a/b"), "");
  EXPECT_NE(validate_realm_path("/a/"), "");
}

TEST(CodecErrors, EveryCodeHasANameAndTheRightClass) {
  for (std::uint16_t raw = 0; raw < 400; ++raw) {
    if (!is_known_error_code(raw)) continue;
    const auto code = static_cast<error_code>(raw);
    EXPECT_NE(to_string(code), "unknown");
    EXPECT_EQ(is_connection_level(code), raw < 200);
    EXPECT_TRUE(raw >= 100 && raw < 300);
  }
  EXPECT_FALSE(is_known_error_code(99));
  EXPECT_TRUE(is_retryable(error_code::token_expired));
  EXPECT_FALSE(is_retryable(error_code::bad_syntax));
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

// Frames that must be refused, each with its typed error code. Inputs are built from the golden
// samples (truncated, mutated) or packed by hand with msgpack-c.
#include "protocol/codec.hpp"

#include <gtest/gtest.h>
#include <msgpack.hpp>

#include <cstring>
#include <functional>
#include <limits>

#include <actorsync/protocol/limits.hpp>
#include "tests/protocol/protocol_samples.hpp"

namespace actorsync::protocol::samples {
namespace {

using frame_packer = msgpack::packer<msgpack::sbuffer>;

// Packs a frame by hand; `body` writes whatever the test needs.
byte_buffer packed(const std::function<void(frame_packer&)>& body) {
  msgpack::sbuffer buffer;
  frame_packer p(buffer);
  body(p);
  const auto* data = reinterpret_cast<const std::uint8_t*>(buffer.data());
  return byte_buffer(data, data + buffer.size());
}

void pack_str(frame_packer& p, std::string_view s) {
  p.pack_str(static_cast<std::uint32_t>(s.size()));
  p.pack_str_body(s.data(), static_cast<std::uint32_t>(s.size()));
}

// Raw float encodings: msgpack-c's pack_double/pack_float write whole numbers as integers.
void pack_float64(frame_packer& p, double d) {
  std::uint64_t bits = 0;
  std::memcpy(&bits, &d, sizeof d);
  char bytes[9] = {static_cast<char>(0xcb)};
  for (int i = 0; i < 8; ++i) bytes[1 + i] = static_cast<char>(bits >> (56 - 8 * i));
  p.pack_bin_body(bytes, sizeof bytes);  // appends raw bytes
}

void pack_float32(frame_packer& p, float f) {
  std::uint32_t bits = 0;
  std::memcpy(&bits, &f, sizeof f);
  char bytes[5] = {static_cast<char>(0xca)};
  for (int i = 0; i < 4; ++i) bytes[1 + i] = static_cast<char>(bits >> (24 - 8 * i));
  p.pack_bin_body(bytes, sizeof bytes);
}

// UPLOAD framing around one changeset holding one instruction written by `instruction`.
byte_buffer upload_with_instruction(const std::function<void(frame_packer&)>& instruction) {
  return packed([&](frame_packer& p) {
    p.pack_array(5);
    p.pack_uint8(3);
    p.pack_uint8(1);
    p.pack_uint8(1);
    p.pack_uint8(0);
    p.pack_array(1);
    p.pack_array(6);
    for (int i = 0; i < 5; ++i) p.pack_uint8(1);
    p.pack_array(1);
    instruction(p);
  });
}

void expect_client_refusal(const byte_buffer& bytes, error_code code) {
  auto result = decode_client_message(bytes);
  ASSERT_FALSE(result.ok()) << to_hex(bytes);
  EXPECT_EQ(result.error().code, code) << result.error().reason;
  EXPECT_FALSE(result.error().reason.empty());
}

void expect_server_refusal(const byte_buffer& bytes, error_code code) {
  auto result = decode_server_message(bytes);
  ASSERT_FALSE(result.ok()) << to_hex(bytes);
  EXPECT_EQ(result.error().code, code) << result.error().reason;
  EXPECT_FALSE(result.error().reason.empty());
}

// ---- truncation and trailing bytes ----------------------------------------------------------

TEST(CodecRejection, EveryTruncationOfEverySampleIsBadSyntax) {
  for (const auto& [name, message] : sample_client_messages()) {
    const auto bytes = encoded(message);
    for (std::size_t n = 0; n < bytes.size(); ++n) {
      SCOPED_TRACE(name + " cut at " + std::to_string(n));
      expect_client_refusal(byte_buffer(bytes.begin(), bytes.begin() + n), error_code::bad_syntax);
    }
  }
  for (const auto& [name, message] : sample_server_messages()) {
    const auto bytes = encoded(message);
    for (std::size_t n = 0; n < bytes.size(); ++n) {
      SCOPED_TRACE(name + " cut at " + std::to_string(n));
      expect_server_refusal(byte_buffer(bytes.begin(), bytes.begin() + n), error_code::bad_syntax);
    }
  }
  const auto stored = encoded(sample_changeset());
  for (std::size_t n = 0; n < stored.size(); ++n) {
    auto result = decode_changeset(std::span(stored.data(), n));
    ASSERT_FALSE(result.ok());
    EXPECT_EQ(result.error().code, error_code::bad_syntax);
  }
}

TEST(CodecRejection, TrailingBytesAfterAValidFrameAreBadSyntax) {
  for (const auto& [name, message] : sample_client_messages()) {
    SCOPED_TRACE(name);
    auto bytes = encoded(message);
    bytes.push_back(0x00);
    expect_client_refusal(bytes, error_code::bad_syntax);
  }
  auto two_frames = encoded(server_message{pong_message{1}});
  const auto second = encoded(server_message{pong_message{2}});
  two_frames.insert(two_frames.end(), second.begin(), second.end());
  expect_server_refusal(two_frames, error_code::bad_syntax);
}

// ---- wrong element types at every position --------------------------------------------------

// What a msgpack object is, coarsely: a replacement of the same kind is not a type error.
enum class kind { integer, nil, boolean, floating, string, binary, array, map, ext };

kind kind_of(const msgpack::object& o) {
  switch (o.type) {
    case msgpack::type::POSITIVE_INTEGER:
    case msgpack::type::NEGATIVE_INTEGER:
      return kind::integer;
    case msgpack::type::NIL:
      return kind::nil;
    case msgpack::type::BOOLEAN:
      return kind::boolean;
    case msgpack::type::FLOAT32:
    case msgpack::type::FLOAT64:
      return kind::floating;
    case msgpack::type::STR:
      return kind::string;
    case msgpack::type::BIN:
      return kind::binary;
    case msgpack::type::ARRAY:
      return kind::array;
    case msgpack::type::MAP:
      return kind::map;
    default:
      return kind::ext;
  }
}

struct replacement {
  kind what;
  std::function<void(frame_packer&)> pack;
};

const std::vector<replacement>& replacements() {
  static const std::vector<replacement> all = {
      {kind::nil, [](frame_packer& p) { p.pack_nil(); }},
      {kind::boolean, [](frame_packer& p) { p.pack_true(); }},
      {kind::floating, [](frame_packer& p) { pack_float64(p, 1.0); }},
      {kind::floating, [](frame_packer& p) { pack_float32(p, 2.0f); }},
      {kind::string, [](frame_packer& p) { pack_str(p, "x"); }},
      {kind::binary, [](frame_packer& p) { p.pack_bin(1), p.pack_bin_body("x", 1); }},
      {kind::array, [](frame_packer& p) { p.pack_array(0); }},
      {kind::map, [](frame_packer& p) { p.pack_map(0); }},
      {kind::map, [](frame_packer& p) { p.pack_map(1), p.pack_uint8(1), p.pack_uint8(1); }},
      {kind::ext, [](frame_packer& p) { p.pack_ext(1, 7), p.pack_ext_body("x", 1); }},
      {kind::integer, [](frame_packer& p) { p.pack_uint8(1); }},
  };
  return all;
}

using path = std::vector<std::uint32_t>;

void collect_paths(const msgpack::object& o, path& at, std::vector<path>& out) {
  out.push_back(at);
  if (o.type != msgpack::type::ARRAY) return;
  for (std::uint32_t i = 0; i < o.via.array.size; ++i) {
    at.push_back(i);
    collect_paths(o.via.array.ptr[i], at, out);
    at.pop_back();
  }
}

// Re-packs `o`, writing `replace` instead of the element at `target`.
void pack_replaced(frame_packer& p, const msgpack::object& o, path& at, const path& target,
                   const replacement& replace) {
  if (at == target) return replace.pack(p);
  if (o.type != msgpack::type::ARRAY) {
    p.pack(o);
    return;
  }
  p.pack_array(o.via.array.size);
  for (std::uint32_t i = 0; i < o.via.array.size; ++i) {
    at.push_back(i);
    pack_replaced(p, o.via.array.ptr[i], at, target, replace);
    at.pop_back();
  }
}

const msgpack::object& at_path(const msgpack::object& root, const path& where) {
  const msgpack::object* o = &root;
  for (auto i : where) o = &o->via.array.ptr[i];
  return *o;
}

// set_field's value position: any scalar is a valid value there.
bool is_value_position(const msgpack::object& root, const path& where) {
  // frame > changesets > changeset > instructions > instruction > value
  if (where.size() != 5 || where.back() != 4) return false;
  const auto& parent = at_path(root, path(where.begin(), where.end() - 1));
  return parent.via.array.size == 5 &&
         parent.via.array.ptr[0].type == msgpack::type::POSITIVE_INTEGER &&
         parent.via.array.ptr[0].via.u64 == static_cast<std::uint8_t>(instruction_type::set_field);
}

template <class Decode>
void expect_every_wrong_type_refused(const byte_buffer& bytes, Decode decode,
                                     std::size_t& checked) {
  auto handle = msgpack::unpack(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  const auto& root = handle.get();
  std::vector<path> paths;
  path at;
  collect_paths(root, at, paths);
  for (const auto& target : paths) {
    const auto original = kind_of(at_path(root, target));
    const bool value_slot = is_value_position(root, target);
    for (const auto& r : replacements()) {
      if (r.what == original) continue;
      const auto mutated = packed([&](frame_packer& p) {
        path walk;
        pack_replaced(p, root, walk, target, r);
      });
      auto result = decode(mutated);
      const bool scalar = r.what != kind::array && r.what != kind::map && r.what != kind::ext;
      SCOPED_TRACE(to_hex(mutated));
      if (value_slot && scalar) {
        EXPECT_TRUE(result.ok()) << result.error().reason;
      } else {
        ASSERT_FALSE(result.ok());
        EXPECT_EQ(result.error().code, error_code::bad_syntax) << result.error().reason;
      }
      ++checked;
    }
  }
}

TEST(CodecRejection, AWrongTypeAtAnyPositionOfAnySampleIsBadSyntax) {
  std::size_t checked = 0;
  for (const auto& [name, message] : sample_client_messages()) {
    SCOPED_TRACE(name);
    expect_every_wrong_type_refused(
        encoded(message), [](const byte_buffer& b) { return decode_client_message(b); }, checked);
  }
  for (const auto& [name, message] : sample_server_messages()) {
    SCOPED_TRACE(name);
    expect_every_wrong_type_refused(
        encoded(message), [](const byte_buffer& b) { return decode_server_message(b); }, checked);
  }
  EXPECT_GT(checked, 1000u);  // the walk really covered the nested positions
}

TEST(CodecRejection, NegativeIntegerWhereAnUnsignedOneBelongsIsBadSyntax) {
  expect_client_refusal(
      packed([](frame_packer& p) { p.pack_array(2), p.pack_uint8(5), p.pack_int8(-1); }),
      error_code::bad_syntax);
  expect_client_refusal(
      packed([](frame_packer& p) { p.pack_array(2), p.pack_uint8(6), p.pack_int64(-1000000); }),
      error_code::bad_syntax);
}

TEST(CodecRejection, FloatWhereAnIntegerBelongsIsBadSyntaxEvenWhenWhole) {
  expect_client_refusal(
      packed([](frame_packer& p) { p.pack_array(2), p.pack_uint8(5), pack_float64(p, 1.0); }),
      error_code::bad_syntax);
  expect_client_refusal(upload_with_instruction([](frame_packer& p) {
                          p.pack_array(5), p.pack_uint8(4), pack_str(p, "c"), pack_str(p, "o");
                          pack_str(p, "f"), pack_float64(p, 2.0);
                        }),
                        error_code::bad_syntax);
}

TEST(CodecRejection, IntegersOutsideInt64AreBadSyntaxInValuesAndDeltas) {
  const auto too_big = std::numeric_limits<std::uint64_t>::max();
  expect_client_refusal(upload_with_instruction([&](frame_packer& p) {
                          p.pack_array(5), p.pack_uint8(3), pack_str(p, "c"), pack_str(p, "o");
                          pack_str(p, "f"), p.pack_uint64(too_big);
                        }),
                        error_code::bad_syntax);
  expect_client_refusal(upload_with_instruction([&](frame_packer& p) {
                          p.pack_array(5), p.pack_uint8(4), pack_str(p, "c"), pack_str(p, "o");
                          pack_str(p, "f"), p.pack_uint64(too_big);
                        }),
                        error_code::bad_syntax);
}

// ---- unknown types, wrong shapes ------------------------------------------------------------

TEST(CodecRejection, UnknownMessageTypesAreUnknownMessage) {
  for (std::uint64_t type : {0ull, 7ull, 16ull, 23ull, 99ull, 255ull, 256ull, 1ull << 40}) {
    SCOPED_TRACE(type);
    const auto bytes =
        packed([&](frame_packer& p) { p.pack_array(2), p.pack_uint64(type), p.pack_uint8(1); });
    expect_client_refusal(bytes, error_code::unknown_message);
    expect_server_refusal(bytes, error_code::unknown_message);
  }
}

TEST(CodecRejection, EachSideRefusesTheOtherSidesMessagesAsUnknown) {
  for (const auto& [name, message] : sample_server_messages()) {
    SCOPED_TRACE(name);
    expect_client_refusal(encoded(message), error_code::unknown_message);
  }
  for (const auto& [name, message] : sample_client_messages()) {
    SCOPED_TRACE(name);
    expect_server_refusal(encoded(message), error_code::unknown_message);
  }
}

TEST(CodecRejection, UnknownInstructionTypeIsBadSyntax) {
  for (std::uint8_t tag : {0, 5, 200}) {
    SCOPED_TRACE(static_cast<int>(tag));
    expect_client_refusal(upload_with_instruction([&](frame_packer& p) {
                            p.pack_array(3), p.pack_uint8(tag), pack_str(p, "c"), pack_str(p, "o");
                          }),
                          error_code::bad_syntax);
  }
}

TEST(CodecRejection, WrongElementCountsAreBadSyntax) {
  // A PING with an extra field, a BIND missing its token, an empty frame array, an instruction
  // with a missing value, an empty instruction, a changeset with seven fields.
  expect_client_refusal(packed([](frame_packer& p) {
                          p.pack_array(3), p.pack_uint8(6), p.pack_uint8(1), p.pack_uint8(1);
                        }),
                        error_code::bad_syntax);
  expect_client_refusal(packed([](frame_packer& p) {
                          p.pack_array(3), p.pack_uint8(1), p.pack_uint8(1), pack_str(p, "/a");
                        }),
                        error_code::bad_syntax);
  expect_client_refusal(packed([](frame_packer& p) { p.pack_array(0); }), error_code::bad_syntax);
  expect_client_refusal(upload_with_instruction([](frame_packer& p) {
                          p.pack_array(4), p.pack_uint8(3), pack_str(p, "c"), pack_str(p, "o");
                          pack_str(p, "f");
                        }),
                        error_code::bad_syntax);
  expect_client_refusal(upload_with_instruction([](frame_packer& p) { p.pack_array(0); }),
                        error_code::bad_syntax);
  auto changeset7 = packed([](frame_packer& p) {
    p.pack_array(7);
    for (int i = 0; i < 5; ++i) p.pack_uint8(1);
    p.pack_array(0);
    p.pack_uint8(1);
  });
  auto result = decode_changeset(changeset7);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().code, error_code::bad_syntax);
}

TEST(CodecRejection, MapsAndExtTypesAreRefusedWhereverTheyAppear) {
  expect_client_refusal(
      packed([](frame_packer& p) { p.pack_map(1), p.pack_uint8(6), p.pack_uint8(1); }),
      error_code::bad_syntax);
  expect_client_refusal(packed([](frame_packer& p) { p.pack_ext(1, 1), p.pack_ext_body("x", 1); }),
                        error_code::bad_syntax);
  expect_client_refusal(upload_with_instruction([](frame_packer& p) {
                          p.pack_array(5), p.pack_uint8(3), pack_str(p, "c"), pack_str(p, "o");
                          pack_str(p, "f"), p.pack_map(0);
                        }),
                        error_code::bad_syntax);
  expect_client_refusal(upload_with_instruction([](frame_packer& p) {
                          p.pack_array(5), p.pack_uint8(3), pack_str(p, "c"), pack_str(p, "o");
                          pack_str(p, "f"), p.pack_ext(4, -1), p.pack_ext_body("abcd", 4);
                        }),
                        error_code::bad_syntax);
  expect_client_refusal(byte_buffer{0x92, 0x06, 0xc1}, error_code::bad_syntax);  // never-used byte
}

// ---- field rules ----------------------------------------------------------------------------

TEST(CodecRejection, SessionIdentZeroIsBadSyntaxInEveryMessageThatCarriesOne) {
  expect_client_refusal(encoded(client_message{bind_message{0, "/a", ""}}), error_code::bad_syntax);
  expect_client_refusal(encoded(client_message{client_ident_message{0, 1, 1, 1, 1}}),
                        error_code::bad_syntax);
  expect_client_refusal(encoded(client_message{upload_message{0, 1, 1, {}}}),
                        error_code::bad_syntax);
  expect_client_refusal(encoded(client_message{client_mark_message{0, 1}}), error_code::bad_syntax);
  expect_client_refusal(encoded(client_message{unbind_message{0}}), error_code::bad_syntax);
  expect_server_refusal(encoded(server_message{server_ident_message{0, 1, 1}}),
                        error_code::bad_syntax);
  expect_server_refusal(encoded(server_message{download_message{0, 1, 1, 0, {}}}),
                        error_code::bad_syntax);
  expect_server_refusal(encoded(server_message{server_mark_message{0, 1}}), error_code::bad_syntax);
  expect_server_refusal(encoded(server_message{unbound_message{0}}), error_code::bad_syntax);
}

TEST(CodecRejection, IllegalRealmPathsAreSessionLevelAndNameTheSession) {
  for (const char* path : {"", "orders", "/a//b", "/a/", "/a/../b", "/.hidden", "/a b",
                           "/caf\xc3\xa9", "/a\\b", "/a?x=1"}) {
    SCOPED_TRACE(path);
    auto result = decode_client_message(encoded(client_message{bind_message{9, path, ""}}));
    ASSERT_FALSE(result.ok());
    EXPECT_EQ(result.error().code, error_code::illegal_realm_path) << result.error().reason;
    EXPECT_EQ(result.error().session, 9u);
  }
  for (const char* path : {"/", "/a", "/tenant-1/user_2/realm.v3"}) {
    SCOPED_TRACE(path);
    EXPECT_TRUE(decode_client_message(encoded(client_message{bind_message{9, path, ""}})).ok());
  }
}

TEST(CodecRejection, ErrorCodesOutside100To299AreBadSyntax) {
  for (std::uint64_t code : {0ull, 99ull, 300ull, 999ull, 65535ull, 70000ull, 1ull << 33}) {
    SCOPED_TRACE(code);
    expect_server_refusal(packed([&](frame_packer& p) {
                            p.pack_array(5), p.pack_uint8(21), p.pack_uint64(code);
                            pack_str(p, "x"), p.pack_false(), p.pack_uint8(code >= 200 ? 1 : 0);
                          }),
                          error_code::bad_syntax);
  }
}

TEST(CodecRejection, ErrorLevelMustMatchItsSessionIdent) {
  expect_server_refusal(encoded(server_message{error_message{110, "x", true, 3}}),
                        error_code::bad_syntax);
  expect_server_refusal(encoded(server_message{error_message{208, "x", false, 0}}),
                        error_code::bad_syntax);
}

TEST(CodecRejection, ZeroVersionsAndIdentsThatMustBeAllocatedAreBadSyntax) {
  changeset c = sample_changeset();
  c.client_version = 0;
  expect_client_refusal(encoded(client_message{upload_message{1, 1, 0, {c}}}),
                        error_code::bad_syntax);
  expect_server_refusal(encoded(server_message{server_ident_message{1, 0, 5}}),
                        error_code::bad_syntax);
}

TEST(CodecRejection, EmptyNamesAreBadSyntax) {
  for (const instruction& in :
       {instruction{create_object{"", "o"}}, instruction{erase_object{"c", ""}},
        instruction{set_field{"c", "o", "", std::monostate{}}}}) {
    changeset c = sample_changeset();
    c.instructions = {in};
    expect_client_refusal(encoded(client_message{upload_message{1, 9, 0, {c}}}),
                          error_code::bad_syntax);
  }
}

// ---- limits ---------------------------------------------------------------------------------

TEST(CodecRejection, OversizedFieldsAreLimitsExceeded) {
  const std::string long_path = "/" + std::string(limits::max_realm_path_bytes, 'p');
  expect_client_refusal(encoded(client_message{bind_message{1, long_path, ""}}),
                        error_code::limits_exceeded);
  const std::string long_token(limits::max_token_bytes + 1, 't');
  expect_client_refusal(encoded(client_message{bind_message{1, "/a", long_token}}),
                        error_code::limits_exceeded);

  const std::string long_name(limits::max_name_bytes + 1, 'n');
  for (const instruction& in :
       {instruction{create_object{long_name, "o"}}, instruction{erase_object{"c", long_name}},
        instruction{set_field{"c", "o", long_name, std::monostate{}}},
        instruction{add_integer{"c", "o", long_name, 1}},
        instruction{set_field{"c", "o", "f", std::string(limits::max_value_bytes + 1, 'v')}},
        instruction{set_field{"c", "o", "f", binary(limits::max_value_bytes + 1, 0xab)}}}) {
    changeset c = sample_changeset();
    c.instructions = {in};
    expect_client_refusal(encoded(client_message{upload_message{1, 9, 0, {c}}}),
                          error_code::limits_exceeded);
  }
  expect_server_refusal(encoded(server_message{error_message{
                            208, std::string(limits::max_error_message_bytes + 1, 'e'), false, 1}}),
                        error_code::limits_exceeded);
}

TEST(CodecRejection, TooManyChangesetsOrInstructionsAreLimitsExceeded) {
  upload_message upload{1, 1, 0, {}};
  upload.changesets.assign(limits::max_changesets_per_message + 1, changeset{1, 0, 0, 0, 0, {}});
  expect_client_refusal(encoded(client_message{upload}), error_code::limits_exceeded);
  download_message download{1, 1, 0, 0, {}};
  download.changesets.assign(limits::max_changesets_per_message + 1, changeset{1, 0, 1, 1, 0, {}});
  expect_server_refusal(encoded(server_message{download}), error_code::limits_exceeded);

  changeset big{1, 0, 0, 0, 0, {}};
  big.instructions.assign(limits::max_instructions_per_changeset + 1, create_object{"c", "o"});
  expect_client_refusal(encoded(client_message{upload_message{1, 1, 0, {big}}}),
                        error_code::limits_exceeded);
}

TEST(CodecRejection, FramesLargerThanTheMaximumAreLimitsExceeded) {
  byte_buffer huge(limits::max_frame_bytes + 1, 0x00);
  expect_client_refusal(huge, error_code::limits_exceeded);
  expect_server_refusal(huge, error_code::limits_exceeded);
}

TEST(CodecRejection, AnEmptyFrameIsBadSyntax) {
  expect_client_refusal({}, error_code::bad_syntax);
  expect_server_refusal({}, error_code::bad_syntax);
}

}  // namespace
}  // namespace actorsync::protocol::samples

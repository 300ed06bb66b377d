// Hostile inputs: declared lengths far beyond the frame, nesting bombs, random bytes. Decoding
// must refuse them with a typed error, never throw, and never allocate more than the frame could
// back. A counting global operator new (this test binary only) measures the allocations.
#include "protocol/codec.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <new>
#include <random>

#include "tests/protocol/protocol_samples.hpp"

// GCC cannot see that the replaced new and delete below pair malloc with free.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif

namespace {
std::atomic<bool> counting{false};
std::atomic<std::size_t> counted_bytes{0};
}  // namespace

void* operator new(std::size_t size) {
  if (counting.load(std::memory_order_relaxed)) counted_bytes.fetch_add(size);
  if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept {
  std::free(p);
}
void operator delete(void* p, std::size_t) noexcept {
  std::free(p);
}

namespace actorsync::protocol::samples {
namespace {

// Bytes allocated through operator new while `work` runs on this thread.
template <class F>
std::size_t allocated_by(F&& work) {
  counted_bytes = 0;
  counting = true;
  work();
  counting = false;
  return counted_bytes;
}

template <class Result>
void expect_refused(const Result& result, error_code code) {
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().code, code) << result.error().reason;
}

// UPLOAD [3, 1, 1, 0, [[1, 0, 0, 0, 0, [[3, "c", "o", "f", <value>]]]]]
byte_buffer set_field_value(const byte_buffer& value) {
  byte_buffer frame{0x95, 0x03, 0x01, 0x01, 0x00, 0x91, 0x96, 0x01, 0x00, 0x00, 0x00,
                    0x00, 0x91, 0x95, 0x03, 0xa1, 'c',  0xa1, 'o',  0xa1, 'f'};
  frame.reserve(frame.size() + value.size());
  for (auto b : value) frame.push_back(b);
  return frame;
}

// Error strings are short; anything beyond this is an allocation driven by a declared length.
constexpr std::size_t small_allocation = 4096;

TEST(CodecRobustness, Array32ClaimingFourBillionElementsInTenBytesAllocatesNothingLarge) {
  // The frame array itself claims 4e9 elements.
  const byte_buffer frame{0xdd, 0xee, 0x6b, 0x28, 0x00, 0x03, 0x01, 0x01, 0x00, 0x90};
  decode_result<client_message> result = codec_error{};
  EXPECT_LT(allocated_by([&] { result = decode_client_message(frame); }), small_allocation);
  expect_refused(result, error_code::bad_syntax);
}

TEST(CodecRobustness, ChangesetAndInstructionCountsBeyondTheFrameAllocateNothingLarge) {
  // UPLOAD [3, 1, 1, 0, changesets: array32(4e9)] -> over the limit.
  const byte_buffer changesets{0x95, 0x03, 0x01, 0x01, 0x00, 0xdd, 0xee, 0x6b, 0x28, 0x00};
  // UPLOAD whose one changeset declares 65535 instructions (within the limit, beyond the frame).
  const byte_buffer instructions{0x95, 0x03, 0x01, 0x01, 0x00, 0x91, 0x96, 0x01, 0x00,
                                 0x00, 0x00, 0x00, 0xdc, 0xff, 0xff, 0x93, 0x01};
  // DOWNLOAD claiming 16000 changesets (within the limit) in a 12-byte frame.
  const byte_buffer download{0x96, 0x12, 0x01, 0x01, 0x00, 0x00,
                             0xdc, 0x3e, 0x80, 0x96, 0x01, 0x00};
  decode_result<client_message> a = codec_error{}, b = codec_error{};
  decode_result<server_message> c = codec_error{};
  EXPECT_LT(allocated_by([&] { a = decode_client_message(changesets); }), small_allocation);
  EXPECT_LT(allocated_by([&] { b = decode_client_message(instructions); }), small_allocation);
  EXPECT_LT(allocated_by([&] { c = decode_server_message(download); }), small_allocation);
  expect_refused(a, error_code::limits_exceeded);
  expect_refused(b, error_code::bad_syntax);
  expect_refused(c, error_code::bad_syntax);
}

TEST(CodecRobustness, StringsAndBinariesClaimingMoreThanTheFrameAllocateNothingLarge) {
  // str32 of 4e9 bytes: over max_value_bytes. bin32 of exactly max_value_bytes: legal size,
  // absent bytes. str16 of 65535 bytes: legal size, absent bytes.
  const auto str32 = set_field_value(byte_buffer{0xdb, 0xee, 0x6b, 0x28, 0x00, 'x'});
  const auto bin32 = set_field_value(byte_buffer{0xc6, 0x00, 0x10, 0x00, 0x00, 'x'});
  const auto str16 = set_field_value(byte_buffer{0xda, 0xff, 0xff, 'x'});
  decode_result<client_message> a = codec_error{}, b = codec_error{}, c = codec_error{};
  EXPECT_LT(allocated_by([&] { a = decode_client_message(str32); }), small_allocation);
  EXPECT_LT(allocated_by([&] { b = decode_client_message(bin32); }), small_allocation);
  EXPECT_LT(allocated_by([&] { c = decode_client_message(str16); }), small_allocation);
  expect_refused(a, error_code::limits_exceeded);
  expect_refused(b, error_code::bad_syntax);
  expect_refused(c, error_code::bad_syntax);
}

TEST(CodecRobustness, NestingBombsAreRefusedAtTheirFirstUnexpectedArray) {
  // A million nested one-element arrays: as the frame, and in a set_field value position.
  byte_buffer bomb(1000000, 0x91);
  bomb.push_back(0x01);
  const auto in_value = set_field_value(bomb);
  decode_result<client_message> a = codec_error{}, b = codec_error{};
  EXPECT_LT(allocated_by([&] { a = decode_client_message(bomb); }), small_allocation);
  EXPECT_LT(allocated_by([&] { b = decode_client_message(in_value); }), small_allocation);
  expect_refused(a, error_code::bad_syntax);
  expect_refused(b, error_code::bad_syntax);
}

TEST(CodecRobustness, DecodedMemoryOfAValidFrameStaysWithinASmallMultipleOfItsSize) {
  // The densest legal UPLOAD: many minimal create_object instructions.
  changeset c{1, 0, 0, 0, 0, {}};
  c.instructions.assign(50000, create_object{"c", "o"});
  const auto frame = encoded(client_message{upload_message{1, 1, 0, {c}}});
  std::size_t used = 0;
  {
    decode_result<client_message> result = codec_error{};
    used = allocated_by([&] { result = decode_client_message(frame); });
    ASSERT_TRUE(result.ok());
  }
  EXPECT_LT(used, 32 * frame.size());
}

// Sends `bytes` through every decoder; none may throw, and refusals carry documented codes.
void expect_typed_outcome(const byte_buffer& bytes) {
  auto check = [](const auto& result) {
    if (result.ok()) return;
    const auto code = result.error().code;
    EXPECT_TRUE(code == error_code::bad_syntax || code == error_code::limits_exceeded ||
                code == error_code::unknown_message || code == error_code::illegal_realm_path)
        << to_string(code);
  };
  EXPECT_NO_THROW(check(decode_client_message(bytes)));
  EXPECT_NO_THROW(check(decode_server_message(bytes)));
  EXPECT_NO_THROW(check(decode_changeset(bytes)));
}

TEST(CodecRobustness, RandomBytesNeverThrowAndAlwaysGetATypedOutcome) {
  std::mt19937_64 random(20261127);
  for (int i = 0; i < 20000; ++i) {
    byte_buffer bytes(random() % 64);
    for (auto& b : bytes) b = static_cast<std::uint8_t>(random());
    // Half of the inputs start like a frame so the decoders get past the first byte.
    if (!bytes.empty() && i % 2 == 0) bytes[0] = static_cast<std::uint8_t>(0x91 + random() % 6);
    expect_typed_outcome(bytes);
  }
}

TEST(CodecRobustness, RandomlyMutatedSamplesNeverThrowAndAlwaysGetATypedOutcome) {
  std::mt19937_64 random(42);
  std::vector<byte_buffer> samples;
  for (const auto& s : sample_client_messages()) samples.push_back(encoded(s.message));
  for (const auto& s : sample_server_messages()) samples.push_back(encoded(s.message));
  for (int i = 0; i < 20000; ++i) {
    auto bytes = samples[random() % samples.size()];
    for (int flips = 1 + static_cast<int>(random() % 4); flips > 0; --flips) {
      bytes[random() % bytes.size()] = static_cast<std::uint8_t>(random());
    }
    expect_typed_outcome(bytes);
  }
}

}  // namespace
}  // namespace actorsync::protocol::samples

// libFuzzer target for the protocol decoders. Every input goes through the client, server and
// changeset decoders. Properties checked (a violation aborts, which libFuzzer reports):
//  - decoding never throws and refuses with a documented decode error code;
//  - what decodes re-encodes to bytes that decode to the same message,
//    decode(encode(decode(x))) == decode(x), and encoding is then a fixed point on bytes
//    (the byte check also covers messages holding NaN, which never compare equal);
//  - what our schema reader accepts is also valid msgpack for msgpack-c (a cross-check of the
//    hand-written reader against the library that encodes).
#include <msgpack.hpp>

#include <cstdio>
#include <cstdlib>
#include <span>
#include <type_traits>

#include "protocol/codec.hpp"

namespace {

using namespace actorsync::protocol;

[[noreturn]] void violated(const char* property) {
  std::fprintf(stderr, "property violated: %s\n", property);
  std::abort();
}

void expect_documented_refusal(const codec_error& error) {
  switch (error.code) {
    case error_code::bad_syntax:
    case error_code::limits_exceeded:
    case error_code::unknown_message:
    case error_code::illegal_realm_path:
      break;
    default:
      violated("decode refused with an undocumented error code");
  }
  if (error.reason.empty()) violated("decode refused without a reason");
  if ((error.code == error_code::illegal_realm_path) != (error.session != 0)) {
    violated("only illegal_realm_path names a session");
  }
}

void expect_msgpack_c_accepts(std::span<const std::uint8_t> bytes) {
  try {
    std::size_t offset = 0;
    auto handle =
        msgpack::unpack(reinterpret_cast<const char*>(bytes.data()), bytes.size(), offset);
    if (offset != bytes.size()) violated("msgpack-c sees trailing bytes in an accepted frame");
  } catch (const std::exception&) {
    violated("msgpack-c refuses a frame the decoder accepted");
  }
}

template <class Message>
byte_buffer reencode(const Message& m) {
  byte_buffer out;
  if constexpr (std::is_same_v<Message, changeset>) {
    encode_changeset(m, out);
  } else {
    encode(m, out);
  }
  return out;
}

template <class Decode>
void check(std::span<const std::uint8_t> bytes, Decode decode) {
  auto first = decode(bytes);
  if (!first.ok()) {
    expect_documented_refusal(first.error());
    return;
  }
  expect_msgpack_c_accepts(bytes);
  const auto once = reencode(first.message());
  auto second = decode(once);
  if (!second.ok()) violated("a decoded message does not decode after re-encoding");
  // A message equals itself unless it holds a NaN value; only then fall back to the bytes.
  if (first.message() == first.message() && !(second.message() == first.message())) {
    violated("decode(encode(decode(x))) != decode(x)");
  }
  if (reencode(second.message()) != once) violated("encode(decode(x)) is not a fixed point");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::span<const std::uint8_t> bytes(data, size);
  check(bytes, [](auto b) { return decode_client_message(b); });
  check(bytes, [](auto b) { return decode_server_message(b); });
  check(bytes, [](auto b) { return decode_changeset(b); });
  return 0;
}

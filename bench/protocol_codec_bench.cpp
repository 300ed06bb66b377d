// Protocol codec throughput: encode and decode UPLOAD and DOWNLOAD frames carrying 1, 100 and
// 10,000 small changesets (one set_field of a 64-byte string each), next to msgpack-c's bare
// msgpack::unpack of the same bytes. Bytes/s is frame bytes processed.
//   build/bench/bench_protocol --benchmark_min_time=0.5
#include <benchmark/benchmark.h>

#include <msgpack.hpp>

#include "protocol/codec.hpp"

namespace actorsync::protocol {
namespace {

std::vector<changeset> small_changesets(std::int64_t count) {
  std::vector<changeset> out;
  for (std::int64_t i = 1; i <= count; ++i) {
    const auto v = static_cast<version_type>(i);
    out.push_back(changeset{v,
                            v / 2,
                            0,
                            0,
                            1700000000000 + v,
                            {set_field{"items", "item-" + std::to_string(i), "text",
                                       std::string(64, static_cast<char>('a' + i % 26))}}});
  }
  return out;
}

client_message upload(std::int64_t count) {
  const auto n = static_cast<version_type>(count);
  return upload_message{1, n, n / 2, small_changesets(count)};
}

server_message download(std::int64_t count) {
  auto changesets = small_changesets(count);
  for (auto& c : changesets) {
    c.server_version = c.client_version + 1000;
    c.origin_file_ident = 7;
  }
  const auto n = static_cast<version_type>(count);
  return download_message{1, n + 1000, n, 0, std::move(changesets)};
}

template <class Message>
byte_buffer frame_of(const Message& message) {
  byte_buffer bytes;
  encode(message, bytes);
  return bytes;
}

template <class Message>
void encode_frames(benchmark::State& state, const Message& message) {
  byte_buffer bytes;
  for (auto _ : state) {
    bytes.clear();
    encode(message, bytes);
    benchmark::DoNotOptimize(bytes.data());
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * bytes.size()));
}

template <class Decode>
void decode_frames(benchmark::State& state, const byte_buffer& bytes, Decode decode) {
  for (auto _ : state) {
    auto result = decode(bytes);
    if (!result.ok()) state.SkipWithError(result.error().reason.c_str());
    benchmark::DoNotOptimize(result);
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * bytes.size()));
}

// msgpack-c's generic unpack into its object tree: strings are copied into its zone, as the
// typed decoder copies them into std::string.
void bare_unpack(benchmark::State& state, const byte_buffer& bytes) {
  for (auto _ : state) {
    auto handle = msgpack::unpack(reinterpret_cast<const char*>(bytes.data()), bytes.size());
    benchmark::DoNotOptimize(handle.get());
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * bytes.size()));
}

void BM_encode_upload(benchmark::State& state) {
  encode_frames(state, upload(state.range(0)));
}
void BM_encode_download(benchmark::State& state) {
  encode_frames(state, download(state.range(0)));
}

void BM_decode_upload(benchmark::State& state) {
  decode_frames(state, frame_of(upload(state.range(0))),
                [](const byte_buffer& b) { return decode_client_message(b); });
}
void BM_decode_download(benchmark::State& state) {
  decode_frames(state, frame_of(download(state.range(0))),
                [](const byte_buffer& b) { return decode_server_message(b); });
}

void BM_msgpack_unpack_upload(benchmark::State& state) {
  bare_unpack(state, frame_of(upload(state.range(0))));
}
void BM_msgpack_unpack_download(benchmark::State& state) {
  bare_unpack(state, frame_of(download(state.range(0))));
}

BENCHMARK(BM_encode_upload)->Arg(1)->Arg(100)->Arg(10000);
BENCHMARK(BM_decode_upload)->Arg(1)->Arg(100)->Arg(10000);
BENCHMARK(BM_msgpack_unpack_upload)->Arg(1)->Arg(100)->Arg(10000);
BENCHMARK(BM_encode_download)->Arg(1)->Arg(100)->Arg(10000);
BENCHMARK(BM_decode_download)->Arg(1)->Arg(100)->Arg(10000);
BENCHMARK(BM_msgpack_unpack_download)->Arg(1)->Arg(100)->Arg(10000);

}  // namespace
}  // namespace actorsync::protocol

BENCHMARK_MAIN();

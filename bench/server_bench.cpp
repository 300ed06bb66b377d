// Durable integration throughput of the sync server over loopback: 1, 100 and 1,000 realms
// uploading concurrently (each realm one session; sessions multiplexed over at most 10
// WebSocket connections, one client thread each), next to the raw synced RocksDB write-batch
// rate of the same disk in the same run. Numbers go to docs/BENCHMARKS.md ("## Server").
#include <benchmark/benchmark.h>
#include <rocksdb/db.h>
#include <rocksdb/write_batch.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>
#include <filesystem>
#include <random>
#include <thread>

#include <actorsync/server/sync_server.hpp>
#include <actorsync/server/token.hpp>
#include "protocol/codec.hpp"

namespace {

namespace beast = boost::beast;
namespace websocket = beast::websocket;
namespace net = boost::asio;
using namespace actorsync;

constexpr std::size_t changesets_per_upload = 10;
constexpr std::size_t max_connections = 10;
const std::string secret = "bench-secret-0123456789abcdef";

std::filesystem::path bench_dir(const std::string& name) {
  const char* base = std::getenv("ACTORSYNC_BENCH_DIR");
  auto dir = std::filesystem::path(base ? base : std::filesystem::temp_directory_path().string()) /
             (name + "-" + std::to_string(std::random_device{}()));
  std::filesystem::create_directories(dir);
  return dir;
}

// One changeset of about 150 encoded bytes: create an object and set a 100-byte string field.
protocol::changeset make_changeset(protocol::version_type version) {
  protocol::changeset c;
  c.client_version = version;
  c.origin_timestamp = 1700000000000 + version;
  const auto id = "o" + std::to_string(version);
  c.instructions.push_back(protocol::create_object{"items", id});
  c.instructions.push_back(protocol::set_field{"items", id, "text", std::string(100, 'x')});
  return c;
}

// A blocking WebSocket client carrying several sessions (one realm each).
class bench_connection {
 public:
  bench_connection(std::uint16_t port, const std::string& token) : ws_(io_) {
    net::ip::tcp::endpoint endpoint(net::ip::make_address("127.0.0.1"), port);
    ws_.next_layer().connect(endpoint);
    ws_.set_option(websocket::stream_base::decorator([token](websocket::request_type& request) {
      request.set(beast::http::field::sec_websocket_protocol, "actorsync.v1");
      request.set(beast::http::field::authorization, "Bearer " + token);
    }));
    ws_.handshake("127.0.0.1", "/");
    ws_.binary(true);
  }

  void send(const protocol::client_message& message) {
    protocol::byte_buffer frame;
    protocol::encode(message, frame);
    ws_.write(net::buffer(frame));
  }

  protocol::server_message receive() {
    beast::flat_buffer buffer;
    ws_.read(buffer);
    auto data = buffer.data();
    auto decoded = protocol::decode_server_message(
        {static_cast<const std::uint8_t*>(data.data()), data.size()});
    if (!decoded) throw std::runtime_error("undecodable frame");
    if (auto* e = std::get_if<protocol::error_message>(&decoded.message())) {
      throw std::runtime_error("server error: " + e->message);
    }
    return std::move(decoded.message());
  }

  // Binds one session per realm and waits for every allocated file ident.
  void bind(const std::vector<std::string>& realms) {
    for (std::size_t i = 0; i < realms.size(); ++i) {
      send(protocol::bind_message{i + 1, realms[i], ""});
      send(protocol::client_ident_message{i + 1, 0, 0, 0, 0});
    }
    for (std::size_t i = 0; i < realms.size(); ++i) {
      if (!std::holds_alternative<protocol::server_ident_message>(receive())) {
        throw std::runtime_error("expected IDENT");
      }
    }
    sessions_ = realms.size();
  }

  // Pipelines every upload of every session, then reads until each session is acknowledged.
  void upload(std::size_t uploads_per_session) {
    const auto last = uploads_per_session * changesets_per_upload;
    for (std::size_t u = 0; u < uploads_per_session; ++u) {
      for (std::size_t s = 1; s <= sessions_; ++s) {
        protocol::upload_message upload{s, (u + 1) * changesets_per_upload, 0, {}};
        for (std::size_t i = 1; i <= changesets_per_upload; ++i) {
          upload.changesets.push_back(make_changeset(u * changesets_per_upload + i));
        }
        send(upload);
      }
    }
    std::size_t done = 0;
    while (done < sessions_) {
      auto message = receive();
      if (auto* d = std::get_if<protocol::download_message>(&message)) {
        if (d->last_integrated_client_version == last) ++done;
      }
    }
  }

 private:
  net::io_context io_;
  websocket::stream<net::ip::tcp::socket> ws_;
  std::size_t sessions_ = 0;
};

void BM_server_durable_integration(benchmark::State& state) {
  const auto realms = static_cast<std::size_t>(state.range(0));
  // About the same total work per run: fewer realms upload more often.
  const auto uploads_per_realm = std::max<std::size_t>(2, 2000 / realms);
  const auto dir = bench_dir("bench-server");
  server::server_options options;
  options.data_directory = dir / "data";
  options.ws = {true, "127.0.0.1", 0};
  options.metrics.enabled = false;
  options.token_secret = secret;
  options.log_level = "warning";
  server::sync_server server;
  const auto ports = server.start(options);
  const auto token = server::issue_token(server::token_secret(secret),
                                         {"bench", {"/*"}, server::unix_now() + 3600});

  const auto connections = std::min(realms, max_connections);
  std::vector<std::unique_ptr<bench_connection>> clients;
  for (std::size_t c = 0; c < connections; ++c) {
    std::vector<std::string> paths;
    for (std::size_t r = c; r < realms; r += connections)
      paths.push_back("/bench/r" + std::to_string(r));
    clients.push_back(std::make_unique<bench_connection>(ports.ws, token));
    clients.back()->bind(paths);
  }
  const std::size_t changesets = realms * uploads_per_realm * changesets_per_upload;
  const std::size_t bytes = changesets * protocol::encoded_size(make_changeset(1));
  for (auto _ : state) {
    std::vector<std::thread> threads;
    for (auto& client : clients) {
      threads.emplace_back([&client, uploads_per_realm] { client->upload(uploads_per_realm); });
    }
    for (auto& t : threads) t.join();
  }
  state.counters["changesets/s"] =
      benchmark::Counter(static_cast<double>(changesets), benchmark::Counter::kIsRate);
  state.counters["MB/s"] =
      benchmark::Counter(static_cast<double>(bytes) / 1e6, benchmark::Counter::kIsRate);
  state.counters["changesets"] = static_cast<double>(changesets);
  clients.clear();
  server.stop();
  std::filesystem::remove_all(dir);
}

// The disk's durable limit: one thread writing synced WriteBatches, each holding the bytes of
// one UPLOAD (10 changesets), as separate keys.
void BM_raw_synced_write_batch(benchmark::State& state) {
  const auto dir = bench_dir("bench-raw");
  rocksdb::Options options;
  options.create_if_missing = true;
  rocksdb::DB* raw = nullptr;
  if (!rocksdb::DB::Open(options, (dir / "db").string(), &raw).ok()) {
    state.SkipWithError("cannot open RocksDB");
    return;
  }
  std::unique_ptr<rocksdb::DB> db(raw);
  rocksdb::WriteOptions write;
  write.sync = true;
  protocol::byte_buffer encoded;
  protocol::encode_changeset(make_changeset(1), encoded);
  const std::string value(encoded.begin(), encoded.end());
  std::uint64_t key = 0;
  for (auto _ : state) {
    rocksdb::WriteBatch batch;
    for (std::size_t i = 0; i < changesets_per_upload; ++i) {
      ++key;
      batch.Put(rocksdb::Slice(reinterpret_cast<const char*>(&key), sizeof key), value);
    }
    db->Write(write, &batch);
  }
  state.counters["changesets/s"] = benchmark::Counter(
      static_cast<double>(changesets_per_upload), benchmark::Counter::kIsIterationInvariantRate);
  state.counters["MB/s"] =
      benchmark::Counter(static_cast<double>(changesets_per_upload * value.size()) / 1e6,
                         benchmark::Counter::kIsIterationInvariantRate);
  db.reset();
  std::filesystem::remove_all(dir);
}

}  // namespace

BENCHMARK(BM_raw_synced_write_batch)->UseRealTime()->MinTime(2.0);
BENCHMARK(BM_server_durable_integration)
    ->Arg(1)
    ->Arg(100)
    ->Arg(1000)
    ->ArgName("realms")
    ->Iterations(1)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

BENCHMARK_MAIN();

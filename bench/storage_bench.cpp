// Storage benchmarks: each store against plain RocksDB writing the same keys and bytes with the
// same durability, in the same run, so the ratio is what the store costs on top of RocksDB.
//
// (a) local commit: one transaction setting one 64-byte field (realm_store) vs a WriteBatch
//     with the field record, the history record and the metadata record of the same sizes.
// (b) server integration, 1,000 realms at once: history_store::integrate from 1,000 writer
//     threads (one realm each), and integrate_async with 1,000 calls in flight from one thread,
//     vs 1,000 threads issuing synced WriteBatches of the same keys and bytes.
// Data goes to $ACTORSYNC_BENCH_DIR (default: the system temp directory).
#include <benchmark/benchmark.h>
#include <rocksdb/db.h>
#include <rocksdb/write_batch.h>

#include <condition_variable>
#include <cstdlib>
#include <filesystem>
#include <mutex>

#include <actorsync/storage/realm_store.hpp>
#include "protocol/codec.hpp"
#include "storage/client_layout.hpp"
#include "storage/history_store.hpp"
#include "storage/record_codec.hpp"

namespace {

using namespace actorsync;
using namespace actorsync::storage;

std::filesystem::path fresh_dir(const std::string& name) {
  const char* base = std::getenv("ACTORSYNC_BENCH_DIR");
  auto dir = std::filesystem::path(base ? base : std::filesystem::temp_directory_path().string()) /
             ("actorsync-bench-" + name);
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

std::unique_ptr<rocksdb::DB> open_raw(const std::filesystem::path& dir) {
  rocksdb::Options options;
  options.create_if_missing = true;
  rocksdb::DB* raw = nullptr;
  if (!rocksdb::DB::Open(options, dir.string(), &raw).ok()) std::abort();
  return std::unique_ptr<rocksdb::DB>(raw);
}

const std::string payload(64, 'p');

protocol::changeset one_field_changeset(protocol::version_type version) {
  protocol::changeset cs;
  cs.client_version = version;
  cs.origin_timestamp = 1'700'000'000'000;
  cs.instructions.emplace_back(protocol::set_field{"c", "o", "f", payload});
  return cs;
}

std::string bytes_of(const protocol::changeset& cs) {
  protocol::byte_buffer out;
  protocol::encode_changeset(cs, out);
  return {reinterpret_cast<const char*>(out.data()), out.size()};
}

// ---- (a) local commit ---------------------------------------------------------------------------

void BM_realm_commit(benchmark::State& state) {
  const auto mode = state.range(0) ? durability::full : durability::process_crash;
  const auto dir = fresh_dir("realm-commit");
  {
    auto db = database::open(dir, {mode}).value();
    auto realm = db->open_realm("/bench").value();
    for (auto _ : state) {
      auto v = realm->begin_write().set_field("c", "o", "f", payload).commit();
      if (!v) state.SkipWithError(v.error().message.c_str());
    }
    state.SetItemsProcessed(state.iterations());
  }
  std::filesystem::remove_all(dir);
}

void BM_raw_commit(benchmark::State& state) {
  const bool sync = state.range(0) != 0;
  const auto dir = fresh_dir("raw-commit");
  {
    auto db = open_raw(dir);
    // The same three records a realm commit writes, with the same key and value sizes.
    const auto prefix = client_layout::realm_prefix(1);
    merge::field_state field;
    field.has_set = true;
    field.set_at = merge::stamp{1'700'000'000'000, 0, 1, 0};
    field.set_value = payload;
    const auto field_key = client_layout::field_key(prefix, "c", "o", "f");
    const auto field_value = codec::encode_field(field);
    const auto history_value =
        client_layout::encode_history_value(1, bytes_of(one_field_changeset(1)));
    client_layout::realm_meta meta;
    meta.sync.latest_client_version = 1'000'000;
    meta.sync.uploadable_bytes = 100'000'000;
    meta.last_local_timestamp = 1'700'000'000'000;
    const auto meta_value = client_layout::encode_meta(meta);
    rocksdb::WriteOptions options;
    options.sync = sync;
    protocol::version_type version = 0;
    for (auto _ : state) {
      rocksdb::WriteBatch batch;
      batch.Put(field_key, field_value);
      batch.Put(client_layout::history_key(prefix, ++version), history_value);
      batch.Put(client_layout::meta_key(prefix), meta_value);
      if (!db->Write(options, &batch).ok()) state.SkipWithError("write failed");
    }
    state.SetItemsProcessed(state.iterations());
  }
  std::filesystem::remove_all(dir);
}

// ---- (b) server integration, 1,000 realms ------------------------------------------------------

constexpr int realm_count = 1000;

struct history_fixture {
  std::filesystem::path dir;
  std::shared_ptr<history_store> store;
  std::vector<std::string> paths;
  std::vector<file_ident_grant> grants;
  std::vector<protocol::version_type> next_version;
};
history_fixture* history = nullptr;

void history_setup(const benchmark::State&) {
  history = new history_fixture;
  history->dir = fresh_dir("history");
  history->store = history_store::open(history->dir).value();
  for (int i = 0; i < realm_count; ++i) {
    history->paths.push_back("/bench/" + std::to_string(i));
    history->grants.push_back(
        history->store->allocate_client_file_ident(history->paths.back()).value());
    history->next_version.push_back(1);
  }
}

void history_teardown(const benchmark::State&) {
  history->store.reset();
  std::filesystem::remove_all(history->dir);
  delete history;
  history = nullptr;
}

/// One writer thread per realm, each integrating one changeset at a time (blocking).
void BM_history_integrate_threads(benchmark::State& state) {
  const int realm = state.thread_index();
  for (auto _ : state) {
    auto r = history->store->integrate(history->paths[realm], history->grants[realm],
                                       {one_field_changeset(history->next_version[realm]++)});
    if (!r) state.SkipWithError(r.error().message.c_str());
  }
  state.SetItemsProcessed(state.iterations());
}

/// One caller keeps one integrate_async per realm in flight (as 1,000 realm actors would).
void BM_history_integrate_async(benchmark::State& state) {
  std::mutex mutex;
  std::condition_variable all_done;
  for (auto _ : state) {
    int outstanding = realm_count;
    for (int realm = 0; realm < realm_count; ++realm) {
      history->store->integrate_async(history->paths[realm], history->grants[realm],
                                      {one_field_changeset(history->next_version[realm]++)},
                                      [&](auto r) {
                                        if (!r) std::abort();
                                        std::lock_guard lock(mutex);
                                        if (--outstanding == 0) all_done.notify_one();
                                      });
    }
    std::unique_lock lock(mutex);
    all_done.wait(lock, [&] { return outstanding == 0; });
  }
  state.SetItemsProcessed(state.iterations() * realm_count);
}

struct raw_fixture {
  std::filesystem::path dir;
  std::unique_ptr<rocksdb::DB> db;
  std::string history_value, own_value, client_value, meta_value;
};
raw_fixture* raw = nullptr;

void raw_setup(const benchmark::State&) {
  raw = new raw_fixture;
  raw->dir = fresh_dir("raw-history");
  raw->db = open_raw(raw->dir);
  auto cs = one_field_changeset(1);
  cs.server_version = 1'000'000;
  cs.origin_file_ident = 1;
  codec::put_fixed64_be(raw->history_value, 100'000'000);
  raw->history_value += bytes_of(cs);
  codec::put_varint(raw->client_value, 1'000);
  codec::put_varint(raw->client_value, 100'000);
  codec::put_fixed64_be(raw->own_value, 100'000);
  codec::put_varint(raw->meta_value, 1'000'000);
  codec::put_varint(raw->meta_value, 100'000'000);
}

void raw_teardown(const benchmark::State&) {
  raw->db.reset();
  std::filesystem::remove_all(raw->dir);
  delete raw;
  raw = nullptr;
}

/// What one integration writes (history record, own-bytes index, client record, realm metadata),
/// as one synced batch per writer: RocksDB's own group commit.
void BM_raw_history_threads(benchmark::State& state) {
  const auto prefix = client_layout::realm_prefix(static_cast<std::uint32_t>(state.thread_index()));
  std::string client_key = prefix + 'c';
  codec::put_fixed64_be(client_key, 1);
  const std::string meta_key = prefix + 'm';
  rocksdb::WriteOptions options;
  options.sync = true;
  std::uint64_t version = 0;
  for (auto _ : state) {
    std::string history_key = prefix + 'h';
    codec::put_fixed64_be(history_key, ++version);
    rocksdb::WriteBatch batch;
    batch.Put(history_key, raw->history_value);
    std::string own_key = prefix + 'o';
    codec::put_fixed64_be(own_key, 1);
    codec::put_fixed64_be(own_key, version);
    batch.Put(own_key, raw->own_value);
    batch.Put(client_key, raw->client_value);
    batch.Put(meta_key, raw->meta_value);
    if (!raw->db->Write(options, &batch).ok()) state.SkipWithError("write failed");
  }
  state.SetItemsProcessed(state.iterations());
}

}  // namespace

BENCHMARK(BM_raw_commit)->Arg(0)->Arg(1)->ArgName("sync");
BENCHMARK(BM_realm_commit)->Arg(0)->Arg(1)->ArgName("sync");
BENCHMARK(BM_raw_history_threads)
    ->Threads(realm_count)
    ->Iterations(20)
    ->UseRealTime()
    ->Setup(raw_setup)
    ->Teardown(raw_teardown);
BENCHMARK(BM_history_integrate_threads)
    ->Threads(realm_count)
    ->Iterations(20)
    ->UseRealTime()
    ->Setup(history_setup)
    ->Teardown(history_teardown);
BENCHMARK(BM_history_integrate_async)
    ->Iterations(20)
    ->UseRealTime()
    ->Setup(history_setup)
    ->Teardown(history_teardown);

BENCHMARK_MAIN();

#include "storage/history_verify.hpp"

#include "protocol/codec.hpp"
#include "storage/client_layout.hpp"
#include "storage/log_watermark.hpp"
#include "storage/record_codec.hpp"
#include "storage/rocks_util.hpp"

namespace actorsync::storage {

namespace {

constexpr char history_meta_tag = 'm';  ///< R id 'm' -> latest server version, total bytes
constexpr char history_tag = 'h';       ///< R id 'h' sv(8 BE) -> cumulative(8 BE) changeset

/// One realm's history: 1..latest, each decoding, cumulative bytes ending at the total.
void verify_realm(rocksdb::DB& db, const std::string& path, std::uint32_t id,
                  history_verification& out) {
  const auto prefix = client_layout::realm_prefix(id);
  const auto damaged = [&](const std::string& what) {
    out.damage.push_back("realm " + path + " (id " + std::to_string(id) + "): " + what);
  };
  std::string bytes;
  auto s = db.Get(rocksdb::ReadOptions(), prefix + history_meta_tag, &bytes);
  std::uint64_t latest = 0, total = 0;
  if (s.ok()) {
    codec::reader in(bytes);
    if (!in.get_varint(latest) || !in.get_varint(total)) return damaged("metadata does not decode");
  } else if (!s.IsNotFound()) {
    return damaged("metadata cannot be read: " + s.ToString());
  }
  std::uint64_t expected = 1, cumulative = 0;
  rocks::prefix_scan scan(db, prefix + history_tag);
  for (; scan.valid(); scan.next()) {
    const auto key = scan.key_rest();
    const auto version = key.size() == 8 ? codec::get_fixed64_be(key) : 0;
    if (version != expected) {
      return damaged("history record " + std::to_string(expected) + " is missing (next is " +
                     std::to_string(version) + ")");
    }
    auto stored = client_layout::decode_history_value(scan.value());
    if (!stored) return damaged("history record " + std::to_string(version) + " does not decode");
    auto decoded =
        protocol::decode_changeset({reinterpret_cast<const std::uint8_t*>(stored->changeset.data()),
                                    stored->changeset.size()});
    if (!decoded || decoded.message().server_version != version) {
      return damaged("changeset " + std::to_string(version) + " does not decode");
    }
    if (stored->cumulative_bytes < cumulative) {
      return damaged("byte totals go backwards at " + std::to_string(version));
    }
    cumulative = stored->cumulative_bytes;
    ++expected;
    ++out.changesets;
  }
  if (!scan.status().ok()) return damaged("history cannot be read: " + scan.status().ToString());
  if (expected - 1 != latest) {
    return damaged("history ends at " + std::to_string(expected - 1) + ", metadata says " +
                   std::to_string(latest));
  }
  if (cumulative != total) damaged("history bytes do not add up to the metadata's total");
}

void verify_catalog(rocksdb::DB& db, history_verification& out) {
  rocks::prefix_scan scan(db, std::string(1, client_layout::catalog_tag));
  for (; scan.valid(); scan.next()) {
    const std::string path(scan.key_rest());
    if (scan.value().size() != 4) {
      out.damage.push_back("catalog entry of realm " + path + " does not decode");
      continue;
    }
    ++out.realms;
    verify_realm(db, path, codec::get_fixed32_be(scan.value()), out);
  }
  if (!scan.status().ok()) {
    out.damage.push_back("the realm catalog cannot be read: " + scan.status().ToString());
  }
}

}  // namespace

result<history_verification> verify_history_directory(const std::filesystem::path& directory) {
  std::error_code ignored;
  if (!std::filesystem::exists(directory / "CURRENT", ignored)) {
    return storage_error{storage_errc::invalid_argument,
                         "no history database in '" + directory.string() + "' (no CURRENT file)"};
  }
  history_verification out;
  auto log = check_log_before_open(directory);
  if (!log && log.error().code != storage_errc::corruption) return log.error();
  if (!log) out.damage.push_back(log.error().message);
  if (log && !log->tolerated.empty()) out.notes.push_back(log->tolerated);

  rocksdb::Options options;
  options.paranoid_checks = true;
  options.max_open_files = 64;
  rocksdb::DB* raw = nullptr;
  auto s = rocksdb::DB::OpenForReadOnly(options, directory.string(), &raw);
  if (!s.ok()) {
    if (!s.IsCorruption()) return rocks::to_error(s, "opening the database read-only");
    out.damage.push_back("the database does not open: " + s.ToString());
    return out;
  }
  std::unique_ptr<rocksdb::DB> db(raw);
  if (s = db->VerifyChecksum(); !s.ok()) {
    out.damage.push_back("table files in '" + directory.string() + "': " + s.ToString());
  }
  verify_catalog(*db, out);
  return out;
}

}  // namespace actorsync::storage

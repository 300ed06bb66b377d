// Convergence properties of the realm store (RapidCheck; a failure prints the seed, rerun with
// RC_PARAMS="seed=<seed>"). Replicas live as realms of one database: they also prove that realms
// sharing a database stay isolated.
#include <actorsync/storage/realm_store.hpp>

#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include <atomic>
#include <map>

#include "storage/merge.hpp"
#include "tests/support/temp_dir.hpp"

namespace actorsync::storage {
namespace {

using protocol::changeset;
using protocol::instruction;
using protocol::value;

// ---- generators: a small key space so that writes collide often ----------------------------

const std::vector<std::string> collections{"a", "b"};
const std::vector<std::string> object_ids{"1", "2", "3"};
const std::vector<std::string> fields{"x", "y"};

rc::Gen<value> gen_value() {
  return rc::gen::oneOf(
      rc::gen::just(value{}),
      rc::gen::map(rc::gen::arbitrary<bool>(), [](bool b) { return value{b}; }),
      rc::gen::map(rc::gen::inRange<std::int64_t>(-3, 4), [](std::int64_t i) { return value{i}; }),
      rc::gen::map(rc::gen::element(0.5, -1.25), [](double d) { return value{d}; }),
      rc::gen::map(rc::gen::element<std::string>("s", "t", std::string("\0z", 2)),
                   [](std::string s) { return value{std::move(s)}; }),
      rc::gen::just(value{protocol::binary{1, 2}}));
}

instruction random_instruction() {
  const auto coll = *rc::gen::elementOf(collections);
  const auto id = *rc::gen::elementOf(object_ids);
  switch (*rc::gen::weightedElement<int>({{3, 0}, {1, 1}, {4, 2}, {3, 3}})) {
    case 0:
      return protocol::create_object{coll, id};
    case 1:
      return protocol::erase_object{coll, id};
    case 2:
      return protocol::set_field{coll, id, *rc::gen::elementOf(fields), *gen_value()};
    default:
      return protocol::add_integer{coll, id, *rc::gen::elementOf(fields),
                                   *rc::gen::inRange<std::int64_t>(-5, 6)};
  }
}

/// Changesets of `origins` origins, each list in client-version order. Timestamps come from a
/// narrow range so that ties (broken by origin) are common.
std::map<protocol::file_ident, std::vector<changeset>> random_history(
    protocol::file_ident first_origin, int origins, protocol::timestamp_type base) {
  std::map<protocol::file_ident, std::vector<changeset>> history;
  for (int o = 0; o < origins; ++o) {
    const auto origin = first_origin + o;
    const int count = *rc::gen::inRange(1, 6);
    for (int v = 1; v <= count; ++v) {
      changeset cs;
      cs.origin_file_ident = origin;
      cs.client_version = v;
      cs.origin_timestamp = base + *rc::gen::inRange<std::uint64_t>(0, 4);
      const int n = *rc::gen::inRange(1, 5);
      for (int i = 0; i < n; ++i) cs.instructions.push_back(random_instruction());
      history[origin].push_back(std::move(cs));
    }
  }
  return history;
}

/// One random delivery schedule: origins interleaved at random, each origin in order, with
/// re-deliveries of changesets already sent, cut into DOWNLOAD messages of 1 to 3 changesets.
std::vector<std::vector<changeset>> random_schedule(
    const std::map<protocol::file_ident, std::vector<changeset>>& history) {
  std::map<protocol::file_ident, std::size_t> next;
  std::vector<changeset> order;
  std::size_t left = 0;
  for (const auto& [origin, list] : history) left += list.size();
  while (left > 0) {
    std::vector<protocol::file_ident> ready;
    for (const auto& [origin, list] : history) {
      if (next[origin] < list.size()) ready.push_back(origin);
    }
    const auto origin = *rc::gen::elementOf(ready);
    order.push_back(history.at(origin)[next[origin]++]);
    --left;
    if (*rc::gen::weightedElement<bool>({{4, false}, {1, true}})) {
      order.push_back(*rc::gen::elementOf(order));  // a duplicate of something already sent
    }
  }
  std::vector<std::vector<changeset>> messages;
  for (std::size_t i = 0; i < order.size();) {
    const auto n = std::min<std::size_t>(*rc::gen::inRange(1, 4), order.size() - i);
    messages.emplace_back(order.begin() + i, order.begin() + i + n);
    i += n;
  }
  return messages;
}

// ---- replicas -------------------------------------------------------------------------------

struct shared_database {
  testing::temp_dir dir;
  std::shared_ptr<database> db = database::open(dir.path(), {durability::process_crash}).value();
  std::atomic<int> next_realm{0};

  std::shared_ptr<realm_store> fresh_realm() {
    return db->open_realm("/replica/" + std::to_string(next_realm++)).value();
  }
};

shared_database& shared() {
  static shared_database instance;
  return instance;
}

void deliver(realm_store& realm, const std::vector<std::vector<changeset>>& messages) {
  auto server_version = realm.metadata().download_server_version;
  for (const auto& message : messages) {
    protocol::download_message d;
    d.server_version = ++server_version;
    d.changesets = message;
    auto integrated = realm.integrate_download(d);
    RC_ASSERT(integrated.ok());
  }
}

using content = std::map<std::string, std::map<std::string, std::map<std::string, value>>>;

content read_all(const realm_store& realm) {
  content out;
  for (const auto& coll : collections) {
    realm.for_each_object(coll, [&](const std::string& id, const auto& visible) {
      auto& object = out[coll][id];
      for (const auto& [name, v] : visible) object[name] = v;
    });
  }
  // Point reads must agree with the scan.
  for (const auto& coll : collections) {
    for (const auto& id : object_ids) {
      const bool exists = out.count(coll) && out[coll].count(id);
      RC_ASSERT(realm.object_exists(coll, id) == exists);
      for (const auto& f : fields) {
        std::optional<value> expected;
        if (exists && out[coll][id].count(f)) expected = out[coll][id][f];
        RC_ASSERT(realm.get_field(coll, id, f) == expected);
      }
    }
  }
  return out;
}

/// The rules applied to plain maps, once per changeset: what every replica must show.
class model final : public merge::state_access {
 public:
  merge::object_state& object(const std::string& c, const std::string& o) override {
    return objects_[{c, o}];
  }
  merge::field_state& field(const std::string& c, const std::string& o,
                            const std::string& f) override {
    return fields_[{c, o, f}];
  }
  content visible() const {
    content out;
    for (const auto& [key, object] : objects_) {
      if (object.visible()) out[key.first][key.second];
    }
    for (const auto& [key, field] : fields_) {
      auto it = objects_.find({std::get<0>(key), std::get<1>(key)});
      if (it == objects_.end()) continue;
      if (auto v = merge::visible_value(field, it->second)) {
        out[std::get<0>(key)][std::get<1>(key)][std::get<2>(key)] = *v;
      }
    }
    return out;
  }

 private:
  std::map<std::pair<std::string, std::string>, merge::object_state> objects_;
  std::map<std::tuple<std::string, std::string, std::string>, merge::field_state> fields_;
};

content model_of(const std::map<protocol::file_ident, std::vector<changeset>>& history) {
  model m;
  for (const auto& [origin, list] : history) {
    for (const auto& cs : list) merge::apply_changeset(cs, origin, m);
  }
  return m.visible();
}

// ---- properties -----------------------------------------------------------------------------

RC_GTEST_PROP(Convergence, ReplicasReceivingTheSameChangesetsInAnyOrderConverge, ()) {
  const auto history = random_history(1, *rc::gen::inRange(2, 5), 1000);
  const auto expected = model_of(history);
  std::string digest;
  for (int replica = 0; replica < 3; ++replica) {
    auto realm = shared().fresh_realm();
    deliver(*realm, random_schedule(history));
    const auto seen = read_all(*realm);
    RC_ASSERT(seen == expected);
    if (replica == 0) digest = realm->content_digest();
    RC_ASSERT(realm->content_digest() == digest);
  }
}

RC_GTEST_PROP(Convergence, ReintegratingEverythingAgainChangesNothing, ()) {
  const auto history = random_history(1, *rc::gen::inRange(1, 4), 1000);
  auto realm = shared().fresh_realm();
  deliver(*realm, random_schedule(history));
  const auto digest = realm->content_digest();
  const auto meta = realm->metadata();
  deliver(*realm, random_schedule(history));
  RC_ASSERT(realm->content_digest() == digest);
  RC_ASSERT(realm->metadata().latest_client_version == meta.latest_client_version);
}

/// Replica L writes locally (first without a file ident, then with one) while integrating
/// downloads; replicas that receive L's uploaded changesets among the others, in any order,
/// converge with L.
RC_GTEST_PROP(Convergence, LocalWritesInterleavedWithDownloadsConvergeAfterRestamp, ()) {
  const protocol::file_ident local_ident = 10;
  auto local = shared().fresh_realm();
  const auto meta_before = local->metadata();
  RC_ASSERT(meta_before.latest_client_version == 0u);

  auto commit_random = [&] {
    auto tx = local->begin_write();
    const int n = *rc::gen::inRange(1, 4);
    std::vector<instruction> ins;
    for (int i = 0; i < n; ++i) ins.push_back(random_instruction());
    for (auto& in : ins) {
      std::visit(
          [&](auto& x) {
            using T = std::decay_t<decltype(x)>;
            if constexpr (std::is_same_v<T, protocol::create_object>) {
              tx.create_object(x.collection, x.object_id);
            } else if constexpr (std::is_same_v<T, protocol::erase_object>) {
              tx.erase_object(x.collection, x.object_id);
            } else if constexpr (std::is_same_v<T, protocol::set_field>) {
              tx.set_field(x.collection, x.object_id, x.field, x.new_value);
            } else {
              tx.add_integer(x.collection, x.object_id, x.field, x.delta);
            }
          },
          in);
    }
    RC_ASSERT(tx.commit().ok());
  };

  const int before_ident = *rc::gen::inRange(1, 4);
  for (int i = 0; i < before_ident; ++i) commit_random();
  RC_ASSERT(local->set_client_file_ident(local_ident, 1).ok());

  // Remote timestamps straddle the local clock so that both sides win some fields.
  const auto now =
      static_cast<protocol::timestamp_type>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                                std::chrono::system_clock::now().time_since_epoch())
                                                .count());
  auto remote = random_history(1, *rc::gen::inRange(1, 4), now - 2);
  auto schedule = random_schedule(remote);
  for (const auto& message : schedule) {
    if (*rc::gen::arbitrary<bool>()) commit_random();
    deliver(*local, {message});
  }
  commit_random();

  // What L uploads, as the server would relay it (origin set); also echo one back to L.
  auto uploaded = local->local_changesets_after(0, std::size_t{1} << 30);
  RC_ASSERT(uploaded.ok());
  for (auto& cs : uploaded.value()) cs.origin_file_ident = local_ident;
  deliver(*local, {{uploaded.value().back()}});
  auto everything = remote;
  everything[local_ident] = uploaded.value();

  const auto expected = model_of(everything);
  RC_ASSERT(read_all(*local) == expected);
  for (int replica = 0; replica < 2; ++replica) {
    auto other = shared().fresh_realm();
    deliver(*other, random_schedule(everything));
    RC_ASSERT(other->content_digest() == local->content_digest());
  }
}

}  // namespace
}  // namespace actorsync::storage

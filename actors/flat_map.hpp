// A small ordered map kept as a sorted vector of pairs: what a session's registries hold (a few
// waits, subscriptions or progress registrations, keyed by ids issued in increasing order, so
// insertion is an append). Each std::map node costs ~64 bytes with malloc overhead, and an empty
// std::map 48 bytes inline; this costs 24 bytes inline, nothing on the heap when empty (its
// buffer is released when the last entry goes) and 8 + sizeof(V) bytes per entry. Pure logic.
#pragma once

#include <algorithm>
#include <cstddef>
#include <utility>
#include <vector>

namespace actorsync::runtime {

template <class Key, class Value>
class flat_map {
 public:
  using value_type = std::pair<Key, Value>;
  using iterator = typename std::vector<value_type>::iterator;
  using const_iterator = typename std::vector<value_type>::const_iterator;

  iterator begin() { return entries_.begin(); }
  iterator end() { return entries_.end(); }
  const_iterator begin() const { return entries_.begin(); }
  const_iterator end() const { return entries_.end(); }
  std::size_t size() const { return entries_.size(); }
  bool empty() const { return entries_.empty(); }

  iterator find(const Key& key) {
    auto i = lower_bound(key);
    return i != entries_.end() && i->first == key ? i : entries_.end();
  }
  const_iterator find(const Key& key) const {
    auto i = std::lower_bound(entries_.begin(), entries_.end(), key, key_less);
    return i != entries_.end() && i->first == key ? i : entries_.end();
  }
  bool contains(const Key& key) const { return find(key) != end(); }

  /// Inserts unless the key exists; returns the entry and whether it was inserted.
  template <class V>
  std::pair<iterator, bool> emplace(const Key& key, V&& value) {
    auto i = lower_bound(key);
    if (i != entries_.end() && i->first == key) return {i, false};
    return {entries_.emplace(i, key, std::forward<V>(value)), true};
  }

  template <class V>
  void insert_or_assign(const Key& key, V&& value) {
    auto [i, inserted] = emplace(key, std::forward<V>(value));
    if (!inserted) i->second = std::forward<V>(value);
  }

  iterator erase(iterator position) {
    auto next = entries_.erase(position);
    if (entries_.empty()) {
      release();
      return entries_.end();
    }
    return next;
  }

  std::size_t erase(const Key& key) {
    auto i = find(key);
    if (i == entries_.end()) return 0;
    erase(i);
    return 1;
  }

  void clear() { release(); }

  template <class Predicate>
  friend std::size_t erase_if(flat_map& map, Predicate predicate) {
    auto removed = std::erase_if(map.entries_, predicate);
    if (map.entries_.empty()) map.release();
    return removed;
  }

 private:
  static bool key_less(const value_type& entry, const Key& key) { return entry.first < key; }
  iterator lower_bound(const Key& key) {
    return std::lower_bound(entries_.begin(), entries_.end(), key, key_less);
  }
  void release() { std::vector<value_type>().swap(entries_); }

  std::vector<value_type> entries_;
};

}  // namespace actorsync::runtime

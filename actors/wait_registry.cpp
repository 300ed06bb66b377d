#include "actors/wait_registry.hpp"

namespace actorsync::runtime {

bool wait_registry::add_upload(wait_id id, protocol::version_type target,
                               protocol::version_type acknowledged) {
  if (target <= acknowledged) return true;
  uploads_.insert_or_assign(id, target);
  return false;
}

namespace {

// Takes the waits whose target `reached` covers.
std::vector<wait_id> take_reached(flat_map<wait_id, protocol::version_type>& waits,
                                  protocol::version_type reached) {
  std::vector<wait_id> done;
  for (auto i = waits.begin(); i != waits.end();) {
    if (i->second <= reached) {
      done.push_back(i->first);
      i = waits.erase(i);
    } else {
      ++i;
    }
  }
  return done;
}

}  // namespace

std::vector<wait_id> wait_registry::upload_acknowledged(protocol::version_type acknowledged) {
  return take_reached(uploads_, acknowledged);
}

bool wait_registry::add_download_to(wait_id id, protocol::version_type target,
                                    protocol::version_type downloaded) {
  if (target <= downloaded) return true;
  downloads_to_.insert_or_assign(id, target);
  return false;
}

std::vector<wait_id> wait_registry::downloaded_to(protocol::version_type downloaded) {
  return take_reached(downloads_to_, downloaded);
}

void wait_registry::add_download(wait_id id) {
  downloads_.insert_or_assign(id, std::nullopt);
}

bool wait_registry::assign_mark(protocol::request_ident request) {
  bool any = false;
  for (auto& [id, mark] : downloads_) {
    if (!mark) {
      mark = request;
      any = true;
    }
  }
  return any;
}

std::vector<wait_id> wait_registry::mark_received(protocol::request_ident request) {
  std::vector<wait_id> done;
  for (auto i = downloads_.begin(); i != downloads_.end();) {
    // MARKs are echoed in order, so an echo also answers every earlier request.
    if (i->second && *i->second <= request) {
      done.push_back(i->first);
      i = downloads_.erase(i);
    } else {
      ++i;
    }
  }
  return done;
}

void wait_registry::binding_lost() {
  for (auto& entry : downloads_) entry.second.reset();
}

bool wait_registry::remove(wait_id id) {
  return uploads_.erase(id) + downloads_.erase(id) + downloads_to_.erase(id) > 0;
}

std::vector<wait_id> wait_registry::take_all() {
  std::vector<wait_id> all;
  all.reserve(uploads_.size() + downloads_.size() + downloads_to_.size());
  for (auto& entry : uploads_) all.push_back(entry.first);
  for (auto& entry : downloads_) all.push_back(entry.first);
  for (auto& entry : downloads_to_) all.push_back(entry.first);
  uploads_.clear();
  downloads_.clear();
  downloads_to_.clear();
  return all;
}

}  // namespace actorsync::runtime

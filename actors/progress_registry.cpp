#include "actors/progress_registry.hpp"

#include <algorithm>

namespace actorsync::runtime {

progress_figures upload_figures(const storage::sync_metadata& meta) {
  return {meta.uploaded_bytes, std::max(meta.uploadable_bytes, meta.uploaded_bytes)};
}

progress_figures download_figures(const storage::sync_metadata& meta) {
  return {meta.downloaded_bytes, meta.downloaded_bytes + meta.downloadable_bytes};
}

progress_report make_report(progress_direction direction, progress_figures figures) {
  progress_report r;
  r.direction = direction;
  r.transferable = figures.transferable;
  r.transferred = std::min(figures.transferred, figures.transferable);
  r.complete = r.transferred >= r.transferable;
  r.estimate = r.transferable == 0
                   ? 1.0
                   : static_cast<double>(r.transferred) / static_cast<double>(r.transferable);
  return r;
}

progress_report progress_registry::report_for(const entry& e, progress_figures current) {
  if (e.mode == progress_mode::report_indefinitely || e.awaiting_current_figures)
    return make_report(e.direction, current);
  // Outstanding work: the target is fixed at registration; later work does not extend it.
  return make_report(e.direction, {current.transferred, e.captured_transferable});
}

bool progress_registry::completes(const entry& e, const progress_report& report) {
  return e.mode == progress_mode::for_currently_outstanding_work && !e.awaiting_current_figures &&
         report.complete;
}

progress_delivery progress_registry::add(progress_token token, progress_direction direction,
                                         progress_mode mode, progress_figures current,
                                         bool figures_current) {
  const bool awaiting = mode == progress_mode::for_currently_outstanding_work && !figures_current;
  entry e{direction, mode, awaiting, current.transferable, {}};
  const auto report = report_for(e, current);
  e.last = {report.transferred, report.transferable};
  bool last = completes(e, report);
  if (!last) entries_.insert_or_assign(token, e);
  return {token, report, last};
}

bool progress_registry::remove(progress_token token) {
  return entries_.erase(token) > 0;
}

std::vector<progress_delivery> progress_registry::update(progress_direction direction,
                                                         progress_figures current,
                                                         bool figures_current) {
  std::vector<progress_delivery> out;
  for (auto i = entries_.begin(); i != entries_.end();) {
    auto& e = i->second;
    if (e.direction != direction) {
      ++i;
      continue;
    }
    if (e.awaiting_current_figures && figures_current) {
      e.awaiting_current_figures = false;
      e.captured_transferable = current.transferable;
    }
    auto report = report_for(e, current);
    const progress_figures figures{report.transferred, report.transferable};
    const bool last = completes(e, report);
    // The same figures make the same report, unless they complete a target captured just now.
    if (figures == e.last && !last) {
      ++i;
      continue;
    }
    e.last = figures;
    out.push_back({i->first, report, last});
    i = last ? entries_.erase(i) : std::next(i);
  }
  return out;
}

}  // namespace actorsync::runtime

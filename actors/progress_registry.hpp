// Progress arithmetic and the registrations of one session's progress observers. Pure logic:
// the session actor feeds figures in and delivers the returned reports to subscribers.
//
// Figures: upload transferred = bytes of local changesets the server acknowledged,
// transferable = transferred + bytes still waiting; download transferred = bytes integrated,
// transferable = transferred + the server's downloadable_bytes.
// Modes: report_indefinitely reports every change until removed; for_currently_outstanding_work
// captures transferable at registration, reports until transferred reaches it, then sends a
// final report (complete = true) and removes itself. Download figures are current only once the
// server sent a DOWNLOAD on the current binding (as in realm-core): an outstanding-work
// registration made before that reports the stored figures and captures its target from the
// first current ones.
#pragma once

#include <cstdint>
#include <vector>

#include <actorsync/actors/session_types.hpp>
#include <actorsync/storage/realm_store.hpp>
#include "actors/flat_map.hpp"

namespace actorsync::runtime {

struct progress_figures {
  std::uint64_t transferred = 0;
  std::uint64_t transferable = 0;
  friend bool operator==(const progress_figures&, const progress_figures&) = default;
};

struct progress_report {
  progress_direction direction = progress_direction::upload;
  std::uint64_t transferred = 0;
  std::uint64_t transferable = 0;
  double estimate = 1.0;  ///< transferred / transferable in 0..1; 1 when nothing is transferable
  bool complete = false;  ///< transferred reached transferable
  friend bool operator==(const progress_report&, const progress_report&) = default;
};

/// One report for one registration; `last` means the registration removed itself.
struct progress_delivery {
  progress_token token = 0;
  progress_report report;
  bool last = false;
};

/// Upload and download figures from a realm's persisted sync metadata.
progress_figures upload_figures(const storage::sync_metadata& meta);
progress_figures download_figures(const storage::sync_metadata& meta);

/// A report from figures, clamping transferred to transferable.
progress_report make_report(progress_direction direction, progress_figures figures);

class progress_registry {
 public:
  /// Registers and returns the initial delivery (sent at once). An outstanding-work
  /// registration with nothing outstanding is complete at once: the delivery is `last` and
  /// nothing stays registered.
  /// `figures_current`: false when the figures are stored ones the server has not confirmed on
  /// this binding (an outstanding-work registration then waits for current ones).
  progress_delivery add(progress_token token, progress_direction direction, progress_mode mode,
                        progress_figures current, bool figures_current = true);
  /// False when the token is unknown (already removed or never issued).
  bool remove(progress_token token);
  /// New figures for one direction: a delivery per registration whose report changed.
  std::vector<progress_delivery> update(progress_direction direction, progress_figures current,
                                        bool figures_current = true);

  bool contains(progress_token token) const { return entries_.contains(token); }
  std::size_t size() const { return entries_.size(); }

 private:
  /// 32 B: the last report is kept as its two figures (the rest of a report follows from them),
  /// as every session of a busy app carries a few registrations.
  struct entry {
    progress_direction direction;
    progress_mode mode;
    bool awaiting_current_figures;        ///< outstanding work: no target captured yet
    std::uint64_t captured_transferable;  ///< outstanding-work mode only
    progress_figures last;                ///< of the last report sent
  };
  static progress_report report_for(const entry& e, progress_figures current);
  static bool completes(const entry& e, const progress_report& report);
  flat_map<progress_token, entry> entries_;
};

}  // namespace actorsync::runtime

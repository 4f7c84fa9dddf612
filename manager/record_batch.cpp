#include "manager/record_batch.hpp"

#include <chrono>
#include <variant>

#include "common/logging.hpp"
#include "common/text.hpp"

namespace netmon::manager {
namespace {

std::int64_t wall_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

// If the transaction fails, the caller drops the trackers it touched and
// rebuilds them from the store.
FlushOutcome RecordBatch::flush() {
  FlushOutcome outcome;
  outcome.records = records_.size();
  try {
    const std::int64_t stored_us = wall_us();
    auto transaction = store_.transaction();
    // Records come in runs of one (monitor, epoch): look its tracker up once per run.
    SeqTracker* run_seqs = nullptr;
    const Pending* run_first = nullptr;
    for (const Pending& pending : records_) {
      const protocol::RecordKey& key = pending.record.key;
      if (run_first == nullptr || run_first->monitor_id != pending.monitor_id ||
          run_first->record.key.epoch != key.epoch) {
        run_seqs = &host_.tracker(pending.monitor_id, key.epoch);
        run_first = &pending;
        outcome.touched.emplace(pending.monitor_id, key.epoch);
      }
      // One bad record is dropped and counted; it never stops the batch or
      // the loop. Only a store failure (SqliteError) aborts the batch.
      try {
        if (store_record(pending, *run_seqs, stored_us, outcome)) {
          ++outcome.inserted;
        } else {
          ++outcome.duplicates;
        }
      } catch (const sqlite::SqliteError&) {
        throw;
      } catch (const std::exception& e) {
        ++outcome.record_errors;
        if (log_.record.allow(clock_.now())) {
          log_.log->error("record not stored monitor={} epoch={} seq={}: {}", loggable(key.monitor),
                          loggable(key.epoch, 32), key.seq, loggable(e.what(), 200));
        }
      }
    }
    for (const auto& [monitor_id, epoch, loss_seq] : losses_found_in_) {
      store_.set_lost_ranges(monitor_id, epoch, loss_seq,
                             host_.tracker(monitor_id, epoch).lost_by(loss_seq));
    }
    for (const protocol::Event& event : events_)
      store_.add_event(event);
    transaction.commit();
  } catch (const sqlite::SqliteError& e) {
    // The transaction rolled back as it went out of scope.
    outcome.store_error = e.what();
  }
  records_.clear();
  losses_found_in_.clear();
  events_.clear();
  return outcome;
}

bool RecordBatch::store_record(const Pending& pending, SeqTracker& seqs, std::int64_t stored_us,
                               FlushOutcome& outcome) {
  const protocol::RecordKey& key = pending.record.key;
  const MonotonicClock::TimePoint now = clock_.now();
  const std::optional<std::uint64_t> lost_by = seqs.loss_covering(key.seq);
  if (seqs.contains(key.seq) && !lost_by) {
    // Already stored: the store tells a replay (same body) from a conflict.
    if (store_.insert(pending.monitor_id, pending.record, stored_us) == InsertOutcome::kConflict) {
      ++outcome.conflicts;
      if (log_.record.allow(now)) {
        log_.log->warn(
            "conflict: monitor={} epoch={} seq={} arrived again with another body; the "
            "first one stays",
            key.monitor, loggable(key.epoch, 32), key.seq);
      }
    }
    return false;
  }
  if (store_.insert(pending.monitor_id, pending.record, stored_us) != InsertOutcome::kInserted) {
    return false;
  }
  if (lost_by) {
    // Reported lost, but it was still on its way (queued on the bus): it is
    // stored, and its loss record no longer claims it. It is a record like
    // any other from here on.
    seqs.found(key.seq);
    losses_found_in_.emplace(pending.monitor_id, key.epoch, *lost_by);
    ++outcome.recovered_from_loss;
  } else {
    seqs.add(key.seq, now);
  }
  if (const auto* loss = std::get_if<protocol::LossRange>(&pending.record.body)) {
    // What the monitor dropped may have reached us before the drop: the loss
    // covers only what is not stored.
    const std::vector<SeqRange> lost = seqs.missing_in(loss->from_seq, loss->to_seq);
    seqs.add_loss(key.seq, lost, now);
    store_.set_lost_ranges(pending.monitor_id, key.epoch, key.seq, lost);
    std::uint64_t lost_count = 0;
    for (const SeqRange& range : lost)
      lost_count += range.to - range.from + 1;
    // Every loss is in the store; the log says so at a bounded rate (a
    // forged one costs nothing to publish).
    if (log_.loss.allow(now)) {
      log_.log->warn(
          "monitor lost records monitor={} epoch={} from_seq={} to_seq={} count={} reason={} "
          "not_stored={}",
          key.monitor, loggable(key.epoch, 32), loss->from_seq, loss->to_seq, loss->count,
          loggable(loss->reason), lost_count);
    }
    return true;
  }
  const auto& result = std::get<CheckResult>(pending.record.body);
  host_.result_stored(key, result);
  note_state(key, result);
  return true;
}

void RecordBatch::note_state(const protocol::RecordKey& key, const CheckResult& result) {
  const auto change =
      states_.apply(key.monitor, result.check_id, result.status, key.epoch, key.seq);
  if (!change) return;
  const std::string from(to_string(change->from));
  const std::string to(to_string(change->to));
  std::string text = "check " + key.monitor + "/" + result.check_id + " " + from + " -> " + to +
                     " status=" + std::string(to_string(result.status)) +
                     (result.reason.empty() ? "" : " reason=" + loggable(result.reason, 64));
  if (change->to == CheckState::kDown) {
    text += " after " + std::to_string(change->failures) + " consecutive failures";
  }
  host_.emit(
      {std::chrono::system_clock::now(), key.monitor, result.check_id, from, to, std::move(text)});
}

}  // namespace netmon::manager

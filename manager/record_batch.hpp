#pragma once
// What one loop turn received, stored in one transaction: the records (each
// seq tracker learns its records as they are inserted, and a LOSS is
// reconciled with the records before it in the same batch), the lost ranges
// of losses whose results turned up, and the events. The loop sends ACKs
// only after the commit.

#include <cstdint>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "common/check_result.hpp"
#include "common/log_limiter.hpp"
#include "common/monotonic_clock.hpp"
#include "common/protocol/messages.hpp"
#include "manager/check_state.hpp"
#include "manager/result_store.hpp"
#include "manager/seq_tracker.hpp"

namespace spdlog {
class logger;
}

namespace netmon::manager {

// What storing a batch needs from the loop.
class RecordBatchHost {
 public:
  virtual ~RecordBatchHost() = default;
  virtual SeqTracker& tracker(std::uint64_t monitor_id, const std::string& epoch) = 0;
  // A result was stored (not a duplicate).
  virtual void result_stored(const protocol::RecordKey& key, const CheckResult& result) = 0;
  // Publishes an event and adds it to the batch being stored.
  virtual void emit(protocol::Event event) = 0;
};

struct BatchLog {
  std::shared_ptr<spdlog::logger> log;
  LogLimiter& record;  // records not stored, conflicts
  LogLimiter& loss;    // losses reported
};

struct FlushOutcome {
  std::size_t records = 0;  // in the batch
  std::uint64_t inserted = 0, duplicates = 0, conflicts = 0, record_errors = 0,
                recovered_from_loss = 0;
  // (monitor id, epoch) of every tracker the records touched.
  std::set<std::pair<std::uint64_t, std::string>> touched;
  // The store failed: nothing was committed, and the touched trackers
  // learned records that are not stored.
  std::optional<std::string> store_error;
};

class RecordBatch {
 public:
  RecordBatch(ResultStore& store, CheckStates& states, RecordBatchHost& host, BatchLog log,
              const MonotonicClock& clock)
      : store_(store), states_(states), host_(host), log_(std::move(log)), clock_(clock) {}

  void add(std::uint64_t monitor_id, protocol::Record record) {
    records_.push_back({monitor_id, std::move(record)});
  }
  void add(protocol::Event event) { events_.push_back(std::move(event)); }
  std::size_t records() const { return records_.size(); }
  bool empty() const { return records_.empty() && events_.empty(); }

  // Stores the batch in one transaction and empties it. One bad record is
  // dropped and counted; only a store failure aborts the batch.
  FlushOutcome flush();

 private:
  struct Pending {
    std::uint64_t monitor_id = 0;
    protocol::Record record;
  };
  // Inserts one record inside the open transaction; false for a duplicate.
  bool store_record(const Pending& pending, SeqTracker& seqs, std::int64_t stored_us,
                    FlushOutcome& outcome);
  void note_state(const protocol::RecordKey& key, const CheckResult& result);

  ResultStore& store_;
  CheckStates& states_;
  RecordBatchHost& host_;
  BatchLog log_;
  const MonotonicClock& clock_;
  std::vector<Pending> records_;
  std::vector<protocol::Event> events_;
  // (monitor id, epoch, loss seq) of the loss rows a result of this batch was
  // found in: each row's lost ranges are written once per batch, not once
  // per result (a loss in 10^5 pieces made that quadratic).
  std::set<std::tuple<std::uint64_t, std::string, std::uint64_t>> losses_found_in_;
};

}  // namespace netmon::manager

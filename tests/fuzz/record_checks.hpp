#pragma once
// Invariants of decoded bus records, shared by the control and bus targets.

#include "common/check_result.hpp"
#include "common/protocol/messages.hpp"
#include "common/text.hpp"
#include "tests/fuzz/fuzz_support.hpp"

namespace netmon::fuzz {

// Every text a decoder returns is valid UTF-8, so every JSON writer after it
// (store, export, logger) can take it without throwing.
inline void require_valid_record(const protocol::Record& record) {
  require(is_valid_utf8(record.key.monitor) && is_valid_utf8(record.key.epoch),
          "record key text is valid UTF-8");
  require(record.key.seq >= 1 && record.key.seq <= protocol::kMaxSeq, "record seq in 1..2^63-1");
  if (const auto* result = std::get_if<CheckResult>(&record.body)) {
    (void)to_json(*result).dump();
  } else {
    const auto& loss = std::get<protocol::LossRange>(record.body);
    require(is_valid_utf8(loss.reason), "loss reason is valid UTF-8");
    require(loss.from_seq >= 1 && loss.from_seq <= loss.to_seq && loss.to_seq < record.key.seq,
            "loss range is 1 <= from <= to < seq");
  }
}

}  // namespace netmon::fuzz

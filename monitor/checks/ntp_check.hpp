#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <span>

#include "common/check_spec.hpp"
#include "monitor/checks/check.hpp"

namespace netmon::checks {

// ntp: one SNTP client exchange (RFC 4330 / 5905); offset, delay, stratum, reference id.
Expected<CheckPtr> parse_ntp_check(const CheckSpec& spec);

// The timestamp arithmetic, exposed so tests can drive it across an era boundary.
// NTP timestamps are 64-bit 32.32 fixed point seconds since 1900, modulo 2^32 s.
std::uint64_t to_ntp_time(std::chrono::system_clock::time_point time);
std::uint64_t to_ntp_duration(std::chrono::nanoseconds duration);

struct NtpSample {
  double offset_s = 0;  // ((T2-T1) + (T3-T4)) / 2: the server's clock minus ours
  double delay_s = 0;   // (T4-T1) - (T3-T2): the round trip without the server's hold time
};

// T1 client send, T2 server receive, T3 server send, T4 client receive. Every
// difference is taken modulo 2^64 and read as signed, so an exchange that
// straddles an era rollover (2036) is computed correctly (RFC 5905 §6).
NtpSample ntp_sample(std::uint64_t t1, std::uint64_t t2, std::uint64_t t3, std::uint64_t t4);

// One exchange as the run saw it: the random nonce it sent as its transmit
// timestamp, T1 (its send time) and T4 (the reply's arrival), in NTP format.
struct NtpExchange {
  std::uint64_t nonce = 0;
  std::uint64_t t1 = 0;
  std::uint64_t t4 = 0;
  std::int64_t max_offset_ms = 0;     // 0: no limit
  std::uint32_t foreign_replies = 0;  // replies to other requests before this one
};

// The verdict on one reply (only its 48-byte header is read), or nothing when
// it answers someone else's request. Pure: the run's decoder, for tests and fuzzing.
std::optional<Outcome> judge_ntp_reply(std::span<const std::uint8_t> reply,
                                       const NtpExchange& exchange);

}  // namespace netmon::checks

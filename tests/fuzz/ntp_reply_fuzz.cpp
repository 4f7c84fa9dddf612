// The NTP reply decoder (header fields, kiss codes, reference ids, the
// offset and delay arithmetic) on hostile datagrams. The first 16 bytes are
// the exchange's T1 and T4, the rest is the reply; the nonce is fixed, so the
// seed corpus carries it as the originate timestamp.

#include <cstdint>
#include <span>

#include "monitor/checks/ntp_check.hpp"
#include "tests/fuzz/fuzz_support.hpp"

using namespace netmon;

namespace {
constexpr std::uint64_t kNonce = 0x0123456789abcdefULL;
constexpr std::size_t kExchangeBytes = 16;
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < kExchangeBytes) return 0;
  fuzz::ByteReader reader(data, kExchangeBytes);
  checks::NtpExchange exchange;
  exchange.nonce = kNonce;
  exchange.t1 = reader.u64();
  exchange.t4 = reader.u64();
  exchange.max_offset_ms = 1000;
  const std::span reply(data + kExchangeBytes, size - kExchangeBytes);
  const auto outcome = checks::judge_ntp_reply(reply, exchange);
  if (!outcome) return 0;
  (void)outcome->details.dump();
  fuzz::require(!outcome->latency || outcome->latency->count() >= 0, "latency is not negative");
  if (outcome->status == CheckStatus::kUp) {
    fuzz::require(outcome->details.contains("offset_ms"), "an up reply has an offset");
    const double offset = outcome->details["offset_ms"].get<double>();
    fuzz::require(offset >= -1000 && offset <= 1000, "an up reply is within max_offset_ms");
  } else {
    fuzz::require(!outcome->reason.empty(), "a down reply has a reason");
  }
  return 0;
}

// The DNS reply decoder (ldns_wire2pkt, the question check, the text
// rendering of answers) on hostile datagrams. The first byte picks the record
// type asked for, the rest is the reply.

#include <array>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <span>
#include <string>

#include "common/check_spec.hpp"
#include "common/text.hpp"
#include "monitor/checks/dns_check.hpp"
#include "tests/fuzz/fuzz_support.hpp"

using namespace netmon;

namespace {

constexpr std::array kRecords{"A", "AAAA", "MX", "CNAME", "NS", "TXT", "SOA", "PTR", "SRV"};

const checks::Check& check_for(std::uint8_t selector) {
  static const auto checks = [] {
    std::array<checks::CheckPtr, kRecords.size()> made;
    for (std::size_t i = 0; i < kRecords.size(); ++i) {
      CheckSpec spec;
      spec.id = "fuzz";
      spec.type = "dns";
      spec.params = {{"server", "127.0.0.1"}, {"name", "example.test"}, {"record", kRecords[i]}};
      auto check = checks::parse_dns_check(spec);
      fuzz::require(check.ok(), "the fuzz target's dns checks parse");
      made[i] = std::move(check).value();
    }
    return made;
  }();
  return *checks[selector % checks.size()];
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const checks::Check& check = check_for(data[0]);
  auto reply = checks::parse_dns_reply(check, std::span(data + 1, size - 1));
  if (!reply) {
    fuzz::require(is_valid_utf8(reply.error().message), "a bad_reply text is valid UTF-8");
    return 0;
  }
  fuzz::require(reply->answers.size() <= reply->answer_count, "no more answers than ANCOUNT");
  for (const std::string& answer : reply->answers)
    fuzz::require(is_valid_utf8(answer), "answers are valid UTF-8 (they go into JSON details)");
  (void)nlohmann::json(reply->answers).dump();
  return 0;
}

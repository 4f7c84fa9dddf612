#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/check_spec.hpp"
#include "common/expected.hpp"
#include "monitor/checks/params/param_info.hpp"

namespace netmon::checks {

// The record types a dns check may ask for, as their RR TYPE numbers (RFC 1035 3.2.2).
enum class DnsType : std::uint16_t {
  kA = 1,
  kNs = 2,
  kCname = 5,
  kSoa = 6,
  kPtr = 12,
  kMx = 15,
  kTxt = 16,
  kAaaa = 28,
  kSrv = 33,
};

// The rdata fields of a name-bearing type, in order.
enum class DnsField { kName, kU16, kU32 };

struct DnsRecordType {
  std::string_view name;
  DnsType type;
  std::string_view format;           // shown when an expect value does not fit
  std::span<const DnsField> fields;  // text form for name-bearing types; empty otherwise
};

// dns: one query for `name`/`record` to `server`:`port`; `expect` values are
// brought to the text form answers are rendered in (see dns_check.hpp).
struct DnsParams {
  std::string server;
  std::uint16_t port = 53;
  std::string name;  // as given
  const DnsRecordType* record = nullptr;
  std::vector<std::string> expect;  // canonical text forms
  bool tcp = false;
  bool recursion = true;
};

Expected<DnsParams> parse_dns_params(const CheckSpec& spec);
// The parameters parse_dns_params reads.
std::span<const ParamInfo> dns_param_info();

}  // namespace netmon::checks

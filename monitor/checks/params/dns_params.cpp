#include "monitor/checks/params/dns_params.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <array>
#include <cctype>
#include <charconv>
#include <optional>

#include "common/param_reader.hpp"
#include "common/validate.hpp"

namespace netmon::checks {
namespace {

constexpr ParamInfo kDnsParamInfo[] = {
    {"server", true, "", "host name or IP address of the DNS server"},
    {"port", false, "53", "server port, 1..65535"},
    {"name", true, "", "DNS name to query"},
    {"record", false, "A", "A, AAAA, MX, CNAME, NS, TXT, SOA, PTR or SRV"},
    {"transport", false, "udp", "udp (retried over TCP when truncated) or tcp"},
    {"recursion", false, "true", "set the recursion desired bit"},
    {"expect", false, "", "values that must all be among the answers (repeat for more)"},
};

constexpr DnsField kNameOnly[] = {DnsField::kName};
constexpr DnsField kMxFields[] = {DnsField::kU16, DnsField::kName};
constexpr DnsField kSrvFields[] = {DnsField::kU16, DnsField::kU16, DnsField::kU16, DnsField::kName};
constexpr DnsField kSoaFields[] = {DnsField::kName, DnsField::kName, DnsField::kU32, DnsField::kU32,
                                   DnsField::kU32,  DnsField::kU32,  DnsField::kU32};

constexpr DnsRecordType kDnsRecordTypes[] = {
    {"A", DnsType::kA, "an IPv4 address, e.g. 192.0.2.1", {}},
    {"AAAA", DnsType::kAaaa, "an IPv6 address, e.g. 2001:db8::1", {}},
    {"MX", DnsType::kMx, "<preference> <exchange>, e.g. 10 mail.example.com.", kMxFields},
    {"CNAME", DnsType::kCname, "<name>, e.g. www.example.com.", kNameOnly},
    {"NS", DnsType::kNs, "<name>, e.g. ns1.example.com.", kNameOnly},
    {"TXT", DnsType::kTxt, "the text with its strings joined", {}},
    {"SOA", DnsType::kSoa, "<mname> <rname> <serial> <refresh> <retry> <expire> <minimum>",
     kSoaFields},
    {"PTR", DnsType::kPtr, "<name>, e.g. host.example.com.", kNameOnly},
    {"SRV", DnsType::kSrv, "<priority> <weight> <port> <target>, e.g. 10 5 5060 sip.example.com.",
     kSrvFields},
};

const DnsRecordType* find_record_type(std::string_view name) {
  for (const DnsRecordType& record : kDnsRecordTypes) {
    if (record.name.size() != name.size()) continue;
    bool same = true;
    for (std::size_t i = 0; i < name.size() && same; ++i) {
      same = std::toupper(static_cast<unsigned char>(name[i])) == record.name[i];
    }
    if (same) return &record;
  }
  return nullptr;
}

void to_lower(std::string& text) {
  for (char& c : text) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
}

// An address literal of `family` as inet_ntop writes it; nullopt when `text`
// is not one (an IPv6 scope suffix "%eth0" included).
std::optional<std::string> canonical_address(int family, std::string_view text) {
  std::array<unsigned char, sizeof(in6_addr)> binary{};
  if (inet_pton(family, std::string(text).c_str(), binary.data()) != 1) return std::nullopt;
  std::array<char, INET6_ADDRSTRLEN> shown{};
  if (!inet_ntop(family, binary.data(), shown.data(), shown.size())) return std::nullopt;
  return std::string(shown.data());
}

// The canonical text form of one expected value, or nullopt when it does not
// fit the record type: addresses as inet_ntop writes them, names in lower case
// with a trailing dot, numbers without leading zeros, TXT unchanged.
std::optional<std::string> canonical_expect(const DnsRecordType& record, std::string_view text) {
  if (record.type == DnsType::kA) return canonical_address(AF_INET, text);
  if (record.type == DnsType::kAaaa) return canonical_address(AF_INET6, text);
  if (record.fields.empty()) return std::string(text);  // TXT

  std::string out;
  std::size_t field = 0;
  std::size_t at = 0;
  while (true) {
    while (at < text.size() && (text[at] == ' ' || text[at] == '\t'))
      ++at;
    if (at == text.size()) break;
    std::size_t end = at;
    while (end < text.size() && text[end] != ' ' && text[end] != '\t')
      ++end;
    const std::string_view token = text.substr(at, end - at);
    at = end;
    if (field == record.fields.size()) return std::nullopt;
    if (!out.empty()) out += ' ';
    if (record.fields[field] == DnsField::kName) {
      if (!is_dns_name(token)) return std::nullopt;
      std::string name(token);
      to_lower(name);
      if (name.back() != '.') name += '.';
      out += name;
    } else {
      const std::uint64_t max = record.fields[field] == DnsField::kU16 ? 65535 : 4294967295ULL;
      std::uint64_t number = 0;
      const auto [ptr, parse_ec] =
          std::from_chars(token.data(), token.data() + token.size(), number);
      if (parse_ec != std::errc{} || ptr != token.data() + token.size() || number > max) {
        return std::nullopt;
      }
      out += std::to_string(number);
    }
    ++field;
  }
  if (field != record.fields.size()) return std::nullopt;
  return out;
}

std::string allowed_record_types() {
  std::string names;
  for (const DnsRecordType& record : kDnsRecordTypes) {
    if (!names.empty()) names += ", ";
    names += record.name;
  }
  return names;
}

}  // namespace

Expected<DnsParams> parse_dns_params(const CheckSpec& spec) {
  ParamReader params(spec);
  DnsParams config;
  config.server = params.host("server");
  config.port = params.port("port", 53);
  if (!params.has("name")) {
    params.fail("name", "is required (a DNS name, e.g. www.example.com)");
  }
  const std::string name = params.text("name");
  if (params.has("name") && !is_dns_name(name)) {
    params.fail("name '" + name + "'",
                "is not a valid DNS name (letters, digits, '-', '_', dot-separated labels)");
  }
  const std::string record = params.text("record", "A");
  config.record = find_record_type(record);
  if (!config.record) {
    params.fail("record '" + record + "'",
                "is not allowed (allowed: " + allowed_record_types() + ")");
    config.record = &kDnsRecordTypes[0];
  }
  config.tcp = params.choice("transport", {"udp", "tcp"}, "udp") == "tcp";
  config.recursion = params.flag("recursion", true);
  for (const std::string& value : params.list("expect")) {
    auto canonical = canonical_expect(*config.record, value);
    if (!canonical) {
      params.fail("expect '" + value + "'",
                  "is not a valid " + std::string(config.record->name) +
                      " value (format: " + std::string(config.record->format) + ")");
      break;
    }
    config.expect.push_back(std::move(*canonical));
  }
  if (auto ok = params.finish(); !ok) return ok.error();

  config.name = name;
  return config;
}

std::span<const ParamInfo> dns_param_info() {
  return kDnsParamInfo;
}

}  // namespace netmon::checks

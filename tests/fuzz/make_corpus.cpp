// Writes the binary seeds of the fuzz corpus: one valid input per message
// type and per reply shape, in each target's input format (see the target's
// header comment). Usage: netmon_fuzz_corpus DIR (DIR = tests/fuzz/corpus).

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "common/protocol/check_codec.hpp"
#include "common/protocol/codec.hpp"
#include "common/protocol/ctl_codec.hpp"

// Last: ldns's headers define true and false as macros, which breaks msgpack's.
#include <ldns/ldns.h>

namespace {

using namespace netmon;
using Bytes = std::vector<std::uint8_t>;

std::filesystem::path root;

void write(const std::string& target, const std::string& name, std::string_view bytes) {
  const auto dir = root / target;
  std::filesystem::create_directories(dir);
  std::ofstream out(dir / name, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

void write(const std::string& target, const std::string& name, const Bytes& bytes) {
  write(target, name, std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
}

CheckResult sample_result() {
  CheckResult result;
  result.check_id = "web-1";
  result.type = "http";
  result.target = "http://127.0.0.1:8080/";
  result.timestamp = std::chrono::system_clock::time_point(std::chrono::seconds(1'790'000'000));
  result.status = CheckStatus::kDown;
  result.reason = "status_mismatch";
  result.error = "status 503 not in 200-299";
  result.latency = std::chrono::microseconds(1234);
  result.timings.resolve = std::chrono::microseconds(10);
  result.timings.connect = std::chrono::microseconds(200);
  result.timings.first_byte = std::chrono::microseconds(1100);
  result.timings.total = std::chrono::microseconds(1234);
  result.details = {{"status_code", 503},
                    {"bytes", 17},
                    {"ratio", 0.5},
                    {"flags", {true, false, nullptr}},
                    {"nested", {{"a", {{"b", "c"}}}}},
                    {"negative", -5}};
  return result;
}

CheckSpec sample_spec() {
  CheckSpec spec;
  spec.id = "dns-1";
  spec.type = "dns";
  spec.params = {{"server", "127.0.0.1"},
                 {"name", "www.example.test"},
                 {"expect", std::vector<std::string>{"192.0.2.1", "192.0.2.2"}}};
  return spec;
}

protocol::Record result_record(std::uint64_t seq) {
  return {{"edge-1", 3, "0f1e2d3c", seq}, sample_result()};
}

protocol::Record loss_record() {
  return {{"edge-1", 3, "0f1e2d3c", 10}, protocol::LossRange{4, 9, 6, "outbox_full"}};
}

void control_corpus() {
  using namespace protocol;
  const std::vector<std::pair<std::string, ControlMessage>> messages = {
      {"hello", Hello{"edge-1", "5b0c7e", 3, 7, "0f1e2d3c", 1, 42}},
      {"welcome", Welcome{3, 40, 1000, 3}},
      {"reject", Reject{"unknown_name", "no monitor 'edge-9' in the config"}},
      {"config", Config{7, {sample_spec(), sample_spec()}}},
      {"config_ack", ConfigAck{7, {{"dns-1", "0123456789abcdef"}}, ""}},
      {"config_ack_error", ConfigAck{7, {}, "check 'x': port 70000 out of range"}},
      {"replay", Replay{"0f1e2d3c", {result_record(8), loss_record()}}},
      {"ack", Ack{"0f1e2d3c", 40}},
      {"replay_req", ReplayReq{"0f1e2d3c", 5, 9}},
      {"heartbeat", Heartbeat{}},
      {"heartbeat_monitor", Heartbeat{"0f1e2d3c", 42}},
      {"bye", Bye{}},
  };
  for (const auto& [name, message] : messages)
    write("control", name, encode(message));
}

void bus_corpus() {
  write("bus", "record_result", protocol::encode_record(result_record(11)));
  write("bus", "record_loss", protocol::encode_record(loss_record()));
  protocol::Event event{std::chrono::system_clock::time_point(std::chrono::seconds(1'790'000'000)),
                        "edge-1",
                        "web-1",
                        "UP",
                        "DOWN",
                        "3 consecutive failures"};
  write("bus", "event_check", protocol::encode_event(event));
  event.check.clear();
  write("bus", "event_monitor", protocol::encode_event(event));
  write("bus", "result", encode_check_result(sample_result()));
  write("bus", "check_spec", encode_check_spec(sample_spec()));
}

// A reply to example.test/TYPE carrying `answers` (zone-file lines), behind
// the target's record-selector byte.
void dns_reply(std::uint8_t selector, ldns_rr_type type, const std::string& name,
               const std::vector<std::string>& answers, bool truncated = false,
               ldns_pkt_rcode rcode = LDNS_RCODE_NOERROR) {
  ldns_pkt* packet =
      ldns_pkt_query_new(ldns_dname_new_frm_str("example.test."), type, LDNS_RR_CLASS_IN, LDNS_RD);
  ldns_pkt_set_qr(packet, true);
  ldns_pkt_set_ra(packet, true);
  ldns_pkt_set_aa(packet, true);
  ldns_pkt_set_tc(packet, truncated);
  ldns_pkt_set_rcode(packet, rcode);
  for (const std::string& line : answers) {
    ldns_rr* rr = nullptr;
    if (ldns_rr_new_frm_str(&rr, line.c_str(), 60, nullptr, nullptr) != LDNS_STATUS_OK) {
      std::fprintf(stderr, "bad rr: %s\n", line.c_str());
      std::exit(1);
    }
    ldns_pkt_push_rr(packet, LDNS_SECTION_ANSWER, rr);
  }
  std::uint8_t* wire = nullptr;
  std::size_t size = 0;
  if (ldns_pkt2wire(&wire, packet, &size) != LDNS_STATUS_OK) std::exit(1);
  Bytes bytes{selector};
  bytes.insert(bytes.end(), wire, wire + size);
  std::free(wire);
  ldns_pkt_free(packet);
  write("dns_reply", name, bytes);
}

void dns_corpus() {
  // Selector = index in the target's record list: A AAAA MX CNAME NS TXT SOA PTR SRV.
  dns_reply(0, LDNS_RR_TYPE_A, "a",
            {"example.test. IN A 192.0.2.1", "example.test. IN A 192.0.2.2"});
  dns_reply(1, LDNS_RR_TYPE_AAAA, "aaaa", {"example.test. IN AAAA 2001:db8::1"});
  dns_reply(2, LDNS_RR_TYPE_MX, "mx", {"example.test. IN MX 10 Mail.Example.Test."});
  dns_reply(3, LDNS_RR_TYPE_CNAME, "cname", {"example.test. IN CNAME www.example.test."});
  dns_reply(4, LDNS_RR_TYPE_NS, "ns", {"example.test. IN NS ns1.example.test."});
  dns_reply(5, LDNS_RR_TYPE_TXT, "txt",
            {"example.test. IN TXT \"hello world\" \"\\200\\001 and more\""});
  dns_reply(6, LDNS_RR_TYPE_SOA, "soa",
            {"example.test. IN SOA ns1.example.test. hostmaster.example.test. 2024010101 3600 "
             "900 604800 300"});
  dns_reply(7, LDNS_RR_TYPE_PTR, "ptr", {"example.test. IN PTR host.example.test."});
  dns_reply(8, LDNS_RR_TYPE_SRV, "srv", {"example.test. IN SRV 10 20 5060 sip.example.test."});
  dns_reply(0, LDNS_RR_TYPE_A, "a_truncated", {}, true);
  dns_reply(0, LDNS_RR_TYPE_A, "a_nxdomain", {}, false, LDNS_RCODE_NXDOMAIN);
  dns_reply(0, LDNS_RR_TYPE_A, "a_with_cname",
            {"example.test. IN CNAME www.example.test.", "www.example.test. IN A 192.0.2.7"});
}

void put_be64(Bytes& out, std::size_t at, std::uint64_t value) {
  for (int i = 7; i >= 0; --i) {
    out[at + static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(value & 0xff);
    value >>= 8;
  }
}

// T1, T4, then a 48-byte server reply echoing the target's nonce.
void ntp_reply(const std::string& name, std::uint8_t first, std::uint8_t stratum,
               const char (&reference)[5], std::int64_t server_ahead_ms) {
  constexpr std::uint64_t kNonce = 0x0123456789abcdefULL;
  const std::uint64_t t1 = 0xeb00'0000'0000'0000ULL;
  const std::uint64_t t4 = t1 + (std::uint64_t{1} << 32) / 50;  // 20 ms later
  const auto ahead = static_cast<std::uint64_t>(server_ahead_ms * 4'294'967LL);
  Bytes bytes(16 + 48, 0);
  put_be64(bytes, 0, t1);
  put_be64(bytes, 8, t4);
  bytes[16] = first;
  bytes[17] = stratum;
  bytes[18] = 6;             // poll
  bytes[19] = 0xe9;          // precision -23
  bytes[16 + 4 + 2] = 0x01;  // root delay
  bytes[16 + 8 + 2] = 0x02;  // root dispersion
  for (int i = 0; i < 4; ++i)
    bytes[16 + 12 + static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(reference[i]);
  put_be64(bytes, 16 + 16, t1 + ahead);                                   // reference
  put_be64(bytes, 16 + 24, kNonce);                                       // originate
  put_be64(bytes, 16 + 32, t1 + ahead + (std::uint64_t{1} << 32) / 200);  // receive
  put_be64(bytes, 16 + 40, t1 + ahead + (std::uint64_t{1} << 32) / 100);  // transmit
  write("ntp_reply", name, bytes);
}

void ntp_corpus() {
  ntp_reply("stratum2", 0x24, 2, "\xc0\x00\x02\x01", 3);  // LI 0, v4, mode 4
  ntp_reply("stratum1_gps", 0x1c, 1, "GPS\0", -2);        // v3
  ntp_reply("kiss_rate", 0x24, 0, "RATE", 0);
  ntp_reply("unsynchronized", 0xe4, 3, "\x0a\x00\x00\x01", 0);
  ntp_reply("offset_too_large", 0x24, 2, "\xc0\x00\x02\x01", 5000);
}

std::uint16_t checksum(const Bytes& data, std::size_t from, std::size_t to) {
  std::uint32_t sum = 0;
  for (std::size_t i = from; i + 1 < to; i += 2)
    sum += static_cast<std::uint32_t>(data[i] << 8 | data[i + 1]);
  if ((to - from) % 2) sum += static_cast<std::uint32_t>(data[to - 1] << 8);
  while (sum >> 16)
    sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<std::uint16_t>(~sum);
}

Bytes echo(std::uint8_t type, std::size_t payload) {
  Bytes icmp{type, 0, 0, 0, 0x12, 0x34, 0x00, 0x07};
  for (std::size_t i = 0; i < payload; ++i)
    icmp.push_back(static_cast<std::uint8_t>(i));
  return icmp;
}

Bytes ipv4(std::uint8_t protocol, const Bytes& body) {
  Bytes ip{0x45, 0, 0, 0, 0, 0, 0x40, 0, 64, protocol, 0, 0, 127, 0, 0, 1, 127, 0, 0, 2};
  const std::size_t total = ip.size() + body.size();
  ip[2] = static_cast<std::uint8_t>(total >> 8);
  ip[3] = static_cast<std::uint8_t>(total & 0xff);
  ip.insert(ip.end(), body.begin(), body.end());
  return ip;
}

void with_checksum(Bytes& packet, std::size_t icmp_at) {
  const std::uint16_t sum = checksum(packet, icmp_at, packet.size());
  packet[icmp_at + 2] = static_cast<std::uint8_t>(sum >> 8);
  packet[icmp_at + 3] = static_cast<std::uint8_t>(sum & 0xff);
}

void icmp_corpus() {
  // Selector: bit 0 IPv6, bit 1 raw.
  Bytes v4_datagram{0};
  const Bytes reply_v4 = echo(0, 56);
  v4_datagram.insert(v4_datagram.end(), reply_v4.begin(), reply_v4.end());
  write("icmp_reply", "v4_datagram_echo_reply", v4_datagram);

  Bytes v4_raw = ipv4(1, reply_v4);
  with_checksum(v4_raw, 20);
  v4_raw.insert(v4_raw.begin(), 2);
  write("icmp_reply", "v4_raw_echo_reply", v4_raw);

  Bytes quoted = ipv4(1, echo(8, 56));
  Bytes exceeded{11, 0, 0, 0, 0, 0, 0, 0};
  exceeded.insert(exceeded.end(), quoted.begin(), quoted.end());
  Bytes v4_error = ipv4(1, exceeded);
  with_checksum(v4_error, 20);
  v4_error.insert(v4_error.begin(), 2);
  write("icmp_reply", "v4_raw_time_exceeded", v4_error);

  Bytes v6_datagram{1};
  const Bytes reply_v6 = echo(129, 56);
  v6_datagram.insert(v6_datagram.end(), reply_v6.begin(), reply_v6.end());
  write("icmp_reply", "v6_datagram_echo_reply", v6_datagram);

  // IPv6 raw sockets deliver no IP header; an error quotes the IPv6 header.
  Bytes v6_error{3, 1, 3, 0, 0, 0, 0, 0, 0};
  Bytes ip6(40, 0);
  ip6[0] = 0x60;
  ip6[6] = 58;  // next header ICMPv6
  ip6[7] = 64;
  ip6[23] = 1;  // source ::1
  ip6[39] = 1;  // destination ::1
  const Bytes request_v6 = echo(128, 56);
  ip6.insert(ip6.end(), request_v6.begin(), request_v6.end());
  v6_error.insert(v6_error.end(), ip6.begin(), ip6.end());
  write("icmp_reply", "v6_raw_unreachable", v6_error);
}

void text(std::string& out, std::string_view value) {
  out += '\1';
  out += static_cast<char>(value.size());
  out += value;
}

void integer(std::string& out, std::int64_t value) {
  out += '\0';
  for (int i = 7; i >= 0; --i)
    out += static_cast<char>((static_cast<std::uint64_t>(value) >> (8 * i)) & 0xff);
}

void export_corpus() {
  std::string rows;
  text(rows, "edge-1");
  rows += '\3';
  for (std::int64_t seq = 1; seq <= 3; ++seq) {
    text(rows, "0f1e2d3c");
    integer(rows, seq);
    text(rows, seq == 3 ? "_loss" : "web-1");
    text(rows, "http");
    text(rows, "http://127.0.0.1:8080/");
    integer(rows, 1'790'000'000'000'000 + seq);
    text(rows, seq == 3 ? "loss" : "up");
    text(rows, "");
    text(rows, "");
    integer(rows, 1234);
    text(rows, seq == 3 ? R"({"from_seq":1,"to_seq":1,"count":1,"reason":"outbox_full"})"
                        : R"({"status_code":200,"bytes":17})");
  }
  write("export", "three_rows", rows);
  std::string none;
  text(none, "edge-2");
  none += '\0';
  write("export", "no_rows", none);
}

// ctl: request and reply bodies (§12); console: NUL-separated words, one
// seed per command with arguments it accepts and one it refuses.
void ctl_corpus() {
  namespace ctl = protocol::ctl;
  write("ctl", "request_status", ctl::encode_request({1, "status", {}}));
  write("ctl", "request_add",
        ctl::encode_request({2, "add", {"edge-1", "web-2", "tcp", "host=127.0.0.1", "port=80"}}));
  write("ctl", "request_256_args",
        ctl::encode_request({3, "complete", std::vector<std::string>(ctl::kMaxArgs, "w")}));
  // Refused, and its error reply still carries id 6 (request_id_of).
  write("ctl", "request_257_args",
        ctl::encode_request({6, "add", std::vector<std::string>(ctl::kMaxArgs + 1, "w")}));
  write("ctl", "reply_ok", ctl::encode_reply({4, true, "", "2 monitors", R"({"monitors":[]})"}));
  write("ctl", "reply_error",
        ctl::encode_reply({5, false, "unknown_check", "no check 'edge-1/x'", ""}));
  const std::vector<std::vector<std::string>> lines = {
      {"help"},
      {"help", "add"},
      {"status"},
      {"monitors"},
      {"list_all_queues"},
      {"monitor", "edge-1"},
      {"monitor", "edge-9"},
      {"list_queue", "edge-1"},
      {"checks"},
      {"checks", "edge-1"},
      {"viewconf", "edge-2"},
      {"add", "edge-1", "web-2", "tcp", "host=127.0.0.1", "port=80", "interval=5s"},
      {"add", "edge-1", "web-1", "tcp", "host=127.0.0.1", "port=80"},
      {"add", "edge-1", "x", "nosuchtype"},
      {"addconf", "edge-2/dns-1", "dns", "server=127.0.0.1", "name=example.test"},
      {"set", "edge-1/web-1", "port=81", "timeout=2s"},
      {"set", "edge-1/web-1", "bogus=1"},
      {"del", "edge-1/web-1"},
      {"del", "edge-1/nope"},
      {"delconf", "edge-1", "web-1"},
      {"monitor-add", "edge-3"},
      {"monitor-add", "edge-1"},
      {"monitor-del", "edge-2"},
      {"events", "--since", "1h"},
      {"tail", "--status", "down"},
      {"stats", "--since", "24h"},
      {"export", "/placeholder", "--format", "csv", "--since", "1h"},
      {"export", "/placeholder", "--format", "nope"},
      {"reload"},
      {"exit"},
      {"quit"},
      {"complete", ""},
      {"complete", "add edge-1 web-2 tcp ho"},
      {"complete", "set edge-1/"},
      {"complete", "export /x --format "},
      {"nosuchcommand", "x"},
  };
  for (const auto& words : lines) {
    std::string bytes, name = words.front();
    for (std::size_t i = 0; i < words.size(); ++i) {
      if (i) bytes += '\0';
      bytes += words[i];
    }
    if (words.size() > 1) name += "_" + std::to_string(words.size() - 1);
    for (char& c : name) {
      if (c == '-') c = '_';
    }
    std::string unique = name;
    for (int n = 2; std::filesystem::exists(root / "console" / unique); ++n)
      unique = name + "_" + std::to_string(n);
    write("console", unique, bytes);
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s CORPUS_DIR\n", argv[0]);
    return 2;
  }
  root = argv[1];
  control_corpus();
  bus_corpus();
  dns_corpus();
  ntp_corpus();
  icmp_corpus();
  export_corpus();
  ctl_corpus();
  return 0;
}

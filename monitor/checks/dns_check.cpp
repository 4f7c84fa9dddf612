#include "monitor/checks/dns_check.hpp"

#include <ldns/ldns.h>
#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <asio/ip/tcp.hpp>
#include <asio/ip/udp.hpp>
#include <asio/read.hpp>
#include <asio/write.hpp>
#include <cerrno>
#include <cstdlib>
#include <random>
#include <span>

#include "common/validate.hpp"
#include "monitor/checks/net/socket_errors.hpp"
#include "monitor/checks/net/udp_socket.hpp"
#include "monitor/checks/params/dns_params.hpp"

namespace netmon::checks {
namespace {

constexpr std::size_t kHeaderBytes = 12;
// Length prefix + header + longest name + type and class: no query is longer.
constexpr std::size_t kMaxQueryBytes = 2 + kHeaderBytes + 255 + 4;
// Wrong-id datagrams read per wake-up before waiting again (flood guard).
constexpr int kMaxIgnoredPerWake = 64;

struct PktFree {
  void operator()(ldns_pkt* packet) const { ldns_pkt_free(packet); }
};
using PktPtr = std::unique_ptr<ldns_pkt, PktFree>;

struct RdfFree {
  void operator()(ldns_rdf* rdf) const { ldns_rdf_deep_free(rdf); }
};
using RdfPtr = std::unique_ptr<ldns_rdf, RdfFree>;

struct BufferFree {
  void operator()(ldns_buffer* buffer) const { ldns_buffer_free(buffer); }
};
using BufferPtr = std::unique_ptr<ldns_buffer, BufferFree>;

void to_lower(std::string& text) {
  for (char& c : text) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
}

// DnsType holds the RR TYPE numbers, which ldns_rr_type spells out.
constexpr ldns_rr_type ldns_type(DnsType type) {
  return static_cast<ldns_rr_type>(type);
}
static_assert(ldns_type(DnsType::kA) == LDNS_RR_TYPE_A &&
              ldns_type(DnsType::kAaaa) == LDNS_RR_TYPE_AAAA &&
              ldns_type(DnsType::kMx) == LDNS_RR_TYPE_MX &&
              ldns_type(DnsType::kCname) == LDNS_RR_TYPE_CNAME &&
              ldns_type(DnsType::kNs) == LDNS_RR_TYPE_NS &&
              ldns_type(DnsType::kTxt) == LDNS_RR_TYPE_TXT &&
              ldns_type(DnsType::kSoa) == LDNS_RR_TYPE_SOA &&
              ldns_type(DnsType::kPtr) == LDNS_RR_TYPE_PTR &&
              ldns_type(DnsType::kSrv) == LDNS_RR_TYPE_SRV);
std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& item : items) {
    if (!out.empty()) out += ", ";
    out += item;
  }
  return out;
}

// The parameters plus what ldns makes of them once per check.
struct DnsConfig : DnsParams {
  std::optional<asio::ip::address> literal;  // set when server is an IP address
  RdfPtr qname;
  // The query with a zero id, behind its 2-byte TCP length prefix.
  std::vector<std::uint8_t> query;
};

std::uint16_t next_query_id() {
  thread_local std::mt19937 engine{std::random_device{}()};
  return static_cast<std::uint16_t>(engine());
}

// Per-thread scratch space: the UDP receive buffer (read right after the socket
// reports readable, so one buffer serves every run on the loop) and the
// ldns buffer answers are rendered into.
struct Scratch {
  std::array<std::uint8_t, 65536> datagram;
  BufferPtr text{ldns_buffer_new(256)};
};

Scratch& scratch() {
  thread_local Scratch instance;
  return instance;
}

// One answer record as text: rdata fields separated by single spaces, names
// and hex in lower case; TXT strings joined with bytes outside printable ASCII
// written as \DDD.
void render_answer(const ldns_rr* rr, ldns_rr_type type, std::string& out) {
  out.clear();
  if (type == LDNS_RR_TYPE_TXT) {
    for (std::size_t i = 0; i < ldns_rr_rd_count(rr); ++i) {
      const ldns_rdf* rdf = ldns_rr_rdf(rr, i);
      const std::uint8_t* data = ldns_rdf_data(rdf);
      const std::size_t size = ldns_rdf_size(rdf);
      for (std::size_t j = 1; j < size; ++j) {
        const std::uint8_t c = data[j];
        if (c >= 0x20 && c < 0x7f) {
          out += static_cast<char>(c);
        } else {
          out += '\\';
          out += static_cast<char>('0' + c / 100);
          out += static_cast<char>('0' + c / 10 % 10);
          out += static_cast<char>('0' + c % 10);
        }
      }
    }
    return;
  }
  ldns_buffer* buffer = scratch().text.get();
  for (std::size_t i = 0; i < ldns_rr_rd_count(rr); ++i) {
    ldns_buffer_clear(buffer);
    if (ldns_rdf2buffer_str(buffer, ldns_rr_rdf(rr, i)) != LDNS_STATUS_OK) continue;
    if (!out.empty()) out += ' ';
    out.append(reinterpret_cast<const char*>(ldns_buffer_begin(buffer)),
               ldns_buffer_position(buffer));
  }
  to_lower(out);
}

std::string rcode_name(int rcode) {
  if (const ldns_lookup_table* entry = ldns_lookup_by_id(ldns_rcodes, rcode)) return entry->name;
  return "RCODE" + std::to_string(rcode);
}

std::string rcode_reason(int rcode) {
  if (const ldns_lookup_table* entry = ldns_lookup_by_id(ldns_rcodes, rcode)) {
    std::string reason = std::string("rcode_") + entry->name;
    to_lower(reason);
    return reason;
  }
  return "rcode_" + std::to_string(rcode);
}

bool asks_our_question(const ldns_pkt* packet, const DnsConfig& config) {
  const ldns_rr_list* question = ldns_pkt_question(packet);
  if (!question || ldns_rr_list_rr_count(question) != 1) return false;
  const ldns_rr* rr = ldns_rr_list_rr(question, 0);
  return ldns_rr_get_type(rr) == ldns_type(config.record->type) &&
         ldns_rr_get_class(rr) == LDNS_RR_CLASS_IN &&
         ldns_dname_compare(ldns_rr_owner(rr), config.qname.get()) == 0;
}

// The reply to the config's question, parsed; an error is the text of a
// bad_reply. Only records of the asked type are rendered as answers.
Expected<DnsReply> read_reply(std::span<const std::uint8_t> bytes, const DnsConfig& config) {
  if (bytes.size() < kHeaderBytes) {
    return Error{"reply of " + std::to_string(bytes.size()) +
                 " bytes is shorter than a DNS header"};
  }
  ldns_pkt* raw = nullptr;
  if (const ldns_status status = ldns_wire2pkt(&raw, bytes.data(), bytes.size());
      status != LDNS_STATUS_OK) {
    return Error{std::string("unparseable reply: ") + ldns_get_errorstr_by_id(status)};
  }
  const PktPtr packet(raw);
  if (!ldns_pkt_qr(packet.get())) return Error{"reply is a query, not a response (QR bit clear)"};
  if (!asks_our_question(packet.get(), config)) {
    return Error{"reply is for a different question than " + config.name + " " +
                 std::string(config.record->name)};
  }
  DnsReply reply;
  reply.rcode = ldns_pkt_get_rcode(packet.get());
  reply.authoritative = ldns_pkt_aa(packet.get());
  reply.truncated = ldns_pkt_tc(packet.get());
  reply.answer_count = ldns_pkt_ancount(packet.get());
  const ldns_rr_list* section = ldns_pkt_answer(packet.get());
  const std::size_t count = section ? ldns_rr_list_rr_count(section) : 0;
  std::string text;
  for (std::size_t i = 0; i < count; ++i) {
    const ldns_rr* rr = ldns_rr_list_rr(section, i);
    if (ldns_rr_get_type(rr) != ldns_type(config.record->type)) continue;
    render_answer(rr, ldns_type(config.record->type), text);
    reply.answers.push_back(text);
  }
  return reply;
}

class DnsRun final : public CheckRun {
 public:
  DnsRun(CheckRunEnv& env, std::shared_ptr<const DnsConfig> config)
      : CheckRun(env), config_(std::move(config)) {}

 private:
  void on_start() override {
    if (config_->literal) {
      // IP literal (the common case): no resolver round, no allocation.
      mark(Phase::kResolve);
      send_query(*config_->literal);
      return;
    }
    resolve_then(config_->server, IpFamily::kAny, &DnsRun::send_query);
  }

  void on_cancel() override { close_sockets(); }

  void send_query(const asio::ip::address& address) {
    address_ = address;
    const std::vector<std::uint8_t>& query = config_->query;
    std::copy(query.begin(), query.end(), query_.begin());
    id_ = next_query_id();
    query_[2] = static_cast<std::uint8_t>(id_ >> 8);
    query_[3] = static_cast<std::uint8_t>(id_ & 0xff);
    if (config_->tcp) {
      start_tcp();
    } else {
      start_udp();
    }
  }

  // --- UDP: one connected socket per query --------------------------------

  void start_udp() {
    udp_.emplace(env_.io());
    const asio::ip::udp::endpoint endpoint(address_, config_->port);
    if (const SocketError error = open_connected_udp(*udp_, endpoint)) {
      finish_now(socket_outcome(error.code, error.step, transport_details()));
      return;
    }
    mark(Phase::kConnect);
    sent_at_ = std::chrono::steady_clock::now();
    const std::size_t size = config_->query.size() - 2;
    if (::send(udp_->native_handle(), query_.data() + 2, size, MSG_DONTWAIT | MSG_NOSIGNAL) !=
        static_cast<ssize_t>(size)) {
      const std::error_code send_ec(errno, std::system_category());
      finish_now(socket_outcome(send_ec, "send", transport_details()));
      return;
    }
    wait_udp();
  }

  void wait_udp() {
    udp_->async_wait(
        asio::socket_base::wait_read,
        [self = self<DnsRun>()](const std::error_code& ec) { self->on_udp_readable(ec); });
  }

  void on_udp_readable(const std::error_code& ec) {
    if (done()) return;
    if (ec) {
      finish_now(down(reason_for(ec, "read"), "read: " + ec.message(), transport_details()));
      return;
    }
    std::array<std::uint8_t, 65536>& buffer = scratch().datagram;
    for (int ignored = 0; ignored < kMaxIgnoredPerWake; ++ignored) {
      const ssize_t n = ::recv(udp_->native_handle(), buffer.data(), buffer.size(), MSG_DONTWAIT);
      if (n < 0) {
        const int error = errno;
        if (error == EAGAIN || error == EWOULDBLOCK || error == EINTR) break;
        if (error == ECONNREFUSED) {
          finish_now(down(
              "port_unreachable",
              "ICMP port unreachable: nothing listens on UDP port " + std::to_string(config_->port),
              transport_details()));
        } else {
          const std::error_code read_ec(error, std::system_category());
          finish_now(
              down(reason_for(read_ec, "read"), "read: " + read_ec.message(), transport_details()));
        }
        return;
      }
      const auto size = static_cast<std::size_t>(n);
      // Anyone can aim datagrams at our port: only a reply carrying our id counts.
      if (size < 2 || (buffer[0] << 8 | buffer[1]) != id_) continue;
      mark(Phase::kFirstByte);
      on_reply(buffer.data(), size);
      return;
    }
    wait_udp();
  }

  // --- TCP: 2-byte length framing -----------------------------------------

  void start_tcp() {
    if (udp_) {
      std::error_code ignored;
      udp_->close(ignored);
    }
    tcp_.emplace(env_.io());
    sent_at_ = std::chrono::steady_clock::now();
    tcp_->async_connect(
        asio::ip::tcp::endpoint(address_, config_->port),
        [self = self<DnsRun>()](const std::error_code& ec) { self->on_tcp_connected(ec); });
  }

  void on_tcp_connected(const std::error_code& ec) {
    if (done()) return;
    if (ec) {
      finish_now(socket_outcome(ec, "connect", transport_details(), "tcp connect"));
      return;
    }
    mark(Phase::kConnect);
    asio::async_write(*tcp_, asio::buffer(query_.data(), config_->query.size()),
                      [self = self<DnsRun>()](const std::error_code& error, std::size_t) {
                        self->on_tcp_written(error);
                      });
  }

  void on_tcp_written(const std::error_code& ec) {
    if (done()) return;
    if (ec) {
      finish_now(down(reason_for(ec, "send"), "tcp send: " + ec.message(), transport_details()));
      return;
    }
    asio::async_read(*tcp_, asio::buffer(length_),
                     [self = self<DnsRun>()](const std::error_code& error, std::size_t) {
                       self->on_tcp_length(error);
                     });
  }

  void on_tcp_length(const std::error_code& ec) {
    if (done()) return;
    if (ec) {
      finish_now(down(reason_for(ec, "read"), "tcp read: " + ec.message() + " before any reply",
                      transport_details()));
      return;
    }
    mark(Phase::kFirstByte);
    const std::size_t size = static_cast<std::size_t>(length_[0] << 8 | length_[1]);
    if (size < kHeaderBytes) {
      finish_now(down(
          "bad_reply",
          "tcp reply length " + std::to_string(size) + " is shorter than a DNS header (12 bytes)",
          transport_details()));
      return;
    }
    reply_.resize(size);
    asio::async_read(*tcp_, asio::buffer(reply_),
                     [self = self<DnsRun>()](const std::error_code& error, std::size_t n) {
                       self->on_tcp_reply(error, n);
                     });
  }

  void on_tcp_reply(const std::error_code& ec, std::size_t n) {
    if (done()) return;
    if (ec) {
      finish_now(down(reason_for(ec, "read"),
                      "tcp read: " + ec.message() + " after " + std::to_string(n) + " of " +
                          std::to_string(reply_.size()) + " reply bytes",
                      transport_details()));
      return;
    }
    if ((reply_[0] << 8 | reply_[1]) != id_) {
      finish_now(down("bad_reply",
                      "tcp reply id " + std::to_string(reply_[0] << 8 | reply_[1]) +
                          " does not match query id " + std::to_string(id_),
                      transport_details()));
      return;
    }
    on_reply(reply_.data(), reply_.size());
  }

  // --- the reply, whichever transport brought it --------------------------

  void on_reply(const std::uint8_t* data, std::size_t size) {
    const auto query_time = std::chrono::duration_cast<std::chrono::microseconds>(
        std::chrono::steady_clock::now() - sent_at_);
    auto reply = read_reply({data, size}, *config_);
    if (!reply) {
      finish_now(down("bad_reply", reply.error().message, transport_details()));
      return;
    }
    if (!tcp_ && reply->truncated) {
      truncated_retry_ = true;
      start_tcp();
      return;
    }

    nlohmann::json details = transport_details();
    const int rcode = reply->rcode;
    details["rcode"] = rcode_name(rcode);
    details["authoritative"] = reply->authoritative;
    details["answer_count"] = reply->answer_count;
    const double query_time_ms = static_cast<double>(query_time.count()) / 1000.0;
    details["query_time_ms"] = query_time_ms;
    const std::vector<std::string>& answers = reply->answers;
    details["answers"] = answers;

    Outcome outcome;
    if (rcode != LDNS_RCODE_NOERROR) {
      outcome = down(rcode_reason(rcode),
                     "server answered " + rcode_name(rcode) + " for " + config_->name + " " +
                         std::string(config_->record->name),
                     std::move(details));
    } else if (answers.empty()) {
      outcome = down(
          "no_answer",
          "no " + std::string(config_->record->name) + " record in the answer for " + config_->name,
          std::move(details));
    } else {
      std::vector<std::string> missing;
      for (const std::string& expected : config_->expect) {
        if (std::find(answers.begin(), answers.end(), expected) == answers.end()) {
          missing.push_back(expected);
        }
      }
      if (missing.empty()) {
        outcome = up(std::move(details));
      } else {
        const std::string error =
            "expected " + join(missing) + " not among the answers: " + join(answers);
        details["missing"] = std::move(missing);
        outcome = down("answer_mismatch", error, std::move(details));
      }
    }
    outcome.latency = query_time;
    finish_now(std::move(outcome));
  }

  nlohmann::json transport_details() const {
    nlohmann::json details = nlohmann::json::object();
    details["transport"] = tcp_ ? "tcp" : "udp";
    details["truncated_retry"] = truncated_retry_;
    return details;
  }

  void finish_now(Outcome outcome) {
    close_sockets();
    finish(std::move(outcome));
  }

  void close_sockets() {
    std::error_code ignored;
    if (udp_) udp_->close(ignored);
    if (tcp_ && tcp_->is_open()) {
      // Abortive close: no TIME_WAIT left behind per query on the monitor host.
      tcp_->set_option(asio::socket_base::linger(true, 0), ignored);
      tcp_->close(ignored);
    }
  }

  std::shared_ptr<const DnsConfig> config_;
  asio::ip::address address_;
  std::uint16_t id_ = 0;
  bool truncated_retry_ = false;
  std::chrono::steady_clock::time_point sent_at_;
  std::optional<asio::ip::udp::socket> udp_;
  std::optional<asio::ip::tcp::socket> tcp_;
  std::array<std::uint8_t, kMaxQueryBytes> query_{};
  std::array<std::uint8_t, 2> length_{};
  std::vector<std::uint8_t> reply_;
};

std::string target_of(const DnsConfig& config) {
  const bool v6 = config.server.find(':') != std::string::npos;
  return config.name + "/" + std::string(config.record->name) + "@" +
         (v6 ? "[" + config.server + "]" : config.server) + ":" + std::to_string(config.port);
}

using DnsCheck = TypedCheck<DnsConfig, DnsRun>;

}  // namespace

Expected<DnsReply> parse_dns_reply(const Check& check, std::span<const std::uint8_t> reply) {
  const auto* dns = dynamic_cast<const DnsCheck*>(&check);
  if (!dns) return Error{"not a dns check"};
  return read_reply(reply, dns->config());
}

Expected<CheckPtr> parse_dns_check(const CheckSpec& spec) {
  auto params = parse_dns_params(spec);
  if (!params) return params.error();
  auto config =
      std::make_shared<DnsConfig>(DnsConfig{std::move(params).value(), std::nullopt, nullptr, {}});
  const std::string& name = config->name;
  if (std::error_code ec; is_ip_literal(config->server)) {
    config->literal = asio::ip::make_address(config->server, ec);
    if (ec) config->literal.reset();
  }
  const std::string absolute = name.back() == '.' ? name : name + '.';
  config->qname.reset(ldns_dname_new_frm_str(absolute.c_str()));
  if (!config->qname) {
    return Error{check_error_prefix(spec) + "name '" + name + "' is not a valid DNS name"};
  }
  ldns_rdf* qname_copy = ldns_rdf_clone(config->qname.get());
  const PktPtr query(ldns_pkt_query_new(qname_copy, ldns_type(config->record->type),
                                        LDNS_RR_CLASS_IN, config->recursion ? LDNS_RD : 0));
  if (!query) {
    ldns_rdf_deep_free(qname_copy);
    return Error{check_error_prefix(spec) + "could not build a DNS query for '" + name + "'"};
  }
  ldns_pkt_set_id(query.get(), 0);
  std::uint8_t* wire = nullptr;
  std::size_t size = 0;
  if (ldns_pkt2wire(&wire, query.get(), &size) != LDNS_STATUS_OK || size + 2 > kMaxQueryBytes) {
    std::free(wire);
    return Error{check_error_prefix(spec) + "could not encode a DNS query for '" + name + "'"};
  }
  config->query.reserve(size + 2);
  config->query.push_back(static_cast<std::uint8_t>(size >> 8));
  config->query.push_back(static_cast<std::uint8_t>(size & 0xff));
  config->query.insert(config->query.end(), wire, wire + size);
  std::free(wire);
  return CheckPtr(std::make_shared<DnsCheck>(std::move(config)));
}

}  // namespace netmon::checks

#include "tests/support/dns_test_server.hpp"

#include <ldns/ldns.h>

#include <array>
#include <asio/read.hpp>
#include <asio/write.hpp>
#include <cstdlib>
#include <stdexcept>

namespace netmon::testing {

struct DnsTestServer::Record {
  explicit Record(ldns_rr* record) : rr(record) {}
  ~Record() { ldns_rr_free(rr); }
  Record(const Record&) = delete;
  Record& operator=(const Record&) = delete;
  ldns_rr* rr;
};

struct DnsTestServer::Connection {
  explicit Connection(asio::io_context& io) : socket(io), timer(io) {}
  asio::ip::tcp::socket socket;
  asio::steady_timer timer;
  std::array<std::uint8_t, 2> length{};
  std::string message;
};

namespace {

struct PktFree {
  void operator()(ldns_pkt* packet) const { ldns_pkt_free(packet); }
};
using PktPtr = std::unique_ptr<ldns_pkt, PktFree>;

std::string to_wire(const ldns_pkt* packet) {
  std::uint8_t* wire = nullptr;
  std::size_t size = 0;
  if (ldns_pkt2wire(&wire, packet, &size) != LDNS_STATUS_OK) {
    std::free(wire);
    return {};
  }
  std::string out(reinterpret_cast<const char*>(wire), size);
  std::free(wire);
  return out;
}

std::string framed(std::string_view message) {
  std::string out;
  out += static_cast<char>(message.size() >> 8);
  out += static_cast<char>(message.size() & 0xff);
  out += message;
  return out;
}

}  // namespace

DnsTestServer::DnsTestServer(asio::io_context& io) : io_(io), udp_(io), acceptor_(io) {
  const auto loopback = asio::ip::make_address("127.0.0.1");
  // UDP and TCP must share one port number (the TCP retry goes to the same port).
  for (int attempt = 0; attempt < 50 && port_ == 0; ++attempt) {
    std::error_code ec;
    udp_.open(asio::ip::udp::v4());
    udp_.bind({loopback, 0});
    const std::uint16_t port = udp_.local_endpoint().port();
    acceptor_.open(asio::ip::tcp::v4());
    acceptor_.bind({loopback, port}, ec);
    if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) {
      acceptor_.close();
      udp_.close();
      continue;
    }
    port_ = port;
  }
  if (port_ == 0) throw std::runtime_error("DnsTestServer: no free UDP+TCP port pair");
  receive_udp();
  accept_tcp();
}

DnsTestServer::~DnsTestServer() {
  std::error_code ignored;
  udp_.close(ignored);
  acceptor_.close(ignored);
  for (const auto& weak : connections_) {
    if (auto connection = weak.lock()) {
      connection->socket.close(ignored);
      connection->timer.cancel();
    }
  }
}

void DnsTestServer::add(std::string_view record) {
  ldns_rr* rr = nullptr;
  const std::string text(record);
  if (ldns_rr_new_frm_str(&rr, text.c_str(), 0, nullptr, nullptr) != LDNS_STATUS_OK) {
    throw std::invalid_argument("DnsTestServer: bad record: " + text);
  }
  records_.push_back(std::make_shared<Record>(rr));
}

std::string DnsTestServer::answer(std::string_view query, Transport transport) {
  ldns_pkt* raw = nullptr;
  if (ldns_wire2pkt(&raw, reinterpret_cast<const std::uint8_t*>(query.data()), query.size()) !=
      LDNS_STATUS_OK) {
    return {};
  }
  const PktPtr request(raw);
  if (ldns_rr_list_rr_count(ldns_pkt_question(request.get())) != 1) return {};
  const ldns_rr* question = ldns_rr_list_rr(ldns_pkt_question(request.get()), 0);
  last_query_rd_ = ldns_pkt_rd(request.get());

  const auto build = [&](bool truncate) {
    const PktPtr reply(ldns_pkt_new());
    ldns_pkt_set_id(reply.get(), ldns_pkt_id(request.get()));
    ldns_pkt_set_qr(reply.get(), true);
    ldns_pkt_set_aa(reply.get(), true);
    ldns_pkt_set_rd(reply.get(), ldns_pkt_rd(request.get()));
    ldns_pkt_push_rr(reply.get(), LDNS_SECTION_QUESTION, ldns_rr_clone(question));
    bool name_exists = false;
    for (const auto& record : records_) {
      if (ldns_dname_compare(ldns_rr_owner(record->rr), ldns_rr_owner(question)) != 0) continue;
      name_exists = true;
      if (ldns_rr_get_type(record->rr) != ldns_rr_get_type(question)) continue;
      if (!truncate && forced_rcode_ < 0) {
        ldns_pkt_push_rr(reply.get(), LDNS_SECTION_ANSWER, ldns_rr_clone(record->rr));
      }
    }
    ldns_pkt_set_tc(reply.get(), truncate);
    const int rcode = forced_rcode_ >= 0 ? forced_rcode_
                      : name_exists      ? LDNS_RCODE_NOERROR
                                         : LDNS_RCODE_NXDOMAIN;
    ldns_pkt_set_rcode(reply.get(), static_cast<std::uint8_t>(rcode));
    return to_wire(reply.get());
  };
  std::string reply = build(false);
  if (transport == Transport::kUdp && reply.size() > kMaxUdpReplyBytes) reply = build(true);
  return reply;
}

void DnsTestServer::receive_udp() {
  udp_.async_receive_from(asio::buffer(datagram_), peer_,
                          [this](const std::error_code& ec, std::size_t n) {
                            if (ec) return;
                            ++udp_queries_;
                            const std::string_view query(datagram_.data(), n);
                            std::string reply = answer(query, Transport::kUdp);
                            std::vector<std::string> messages;
                            if (mangler_) {
                              messages = mangler_(query, std::move(reply), Transport::kUdp);
                            } else if (!reply.empty()) {
                              messages.push_back(std::move(reply));
                            }
                            for (const std::string& message : messages) {
                              std::error_code ignored;
                              udp_.send_to(asio::buffer(message), peer_, 0, ignored);
                            }
                            receive_udp();
                          });
}

void DnsTestServer::accept_tcp() {
  auto connection = std::make_shared<Connection>(io_);
  acceptor_.async_accept(connection->socket, [this, connection](const std::error_code& ec) {
    if (ec) return;
    connections_.push_back(connection);
    read_tcp(connection);
    accept_tcp();
  });
}

void DnsTestServer::read_tcp(const std::shared_ptr<Connection>& connection) {
  asio::async_read(connection->socket, asio::buffer(connection->length),
                   [this, connection](const std::error_code& ec, std::size_t) {
                     if (ec) return;
                     connection->message.resize(connection->length[0] << 8 | connection->length[1]);
                     asio::async_read(
                         connection->socket, asio::buffer(connection->message),
                         [this, connection](const std::error_code& error, std::size_t) {
                           if (error) return;
                           ++tcp_queries_;
                           std::string reply = answer(connection->message, Transport::kTcp);
                           std::vector<std::string> messages;
                           if (mangler_) {
                             messages =
                                 mangler_(connection->message, std::move(reply), Transport::kTcp);
                           } else if (!reply.empty()) {
                             messages.push_back(std::move(reply));
                           }
                           std::string out;
                           for (const std::string& message : messages)
                             out += framed(message);
                           if (out.empty()) {
                             read_tcp(connection);
                             return;
                           }
                           write_tcp(connection, std::move(out), 0);
                         });
                   });
}

void DnsTestServer::write_tcp(const std::shared_ptr<Connection>& connection, std::string out,
                              std::size_t offset) {
  const std::size_t chunk =
      tcp_chunk_bytes_ == 0 ? out.size() - offset : std::min(tcp_chunk_bytes_, out.size() - offset);
  std::error_code ec;
  asio::write(connection->socket, asio::buffer(out.data() + offset, chunk), ec);
  if (ec) return;
  offset += chunk;
  if (offset == out.size()) {
    read_tcp(connection);
    return;
  }
  connection->timer.expires_after(tcp_chunk_pause_);
  connection->timer.async_wait(
      [this, connection, out = std::move(out), offset](const std::error_code& error) mutable {
        if (error) return;
        write_tcp(connection, std::move(out), offset);
      });
}

}  // namespace netmon::testing

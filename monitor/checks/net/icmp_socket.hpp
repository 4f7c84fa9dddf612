#pragma once
// The loop's ICMP transport, shared by every icmp and traceroute run:
// one socket per address family (env.shared<IcmpSockets>()), opened on first
// use. Echo requests carry one identifier per socket and a sequence number
// unique among the echoes in flight on it, so replies are matched by id and
// sequence and then by payload (an 8-byte token per echo plus a fixed
// pattern). Foreign ICMP (other pings on the machine, stale replies) is
// dropped. Readiness is drained fully with recvmmsg; the socket is watched
// only while echoes are in flight, so it never keeps the loop alive alone.
//
// Which socket: an unprivileged ICMP datagram socket (SOCK_DGRAM,
// IPPROTO_ICMP/IPPROTO_ICMPV6) when net.ipv4.ping_group_range admits one of
// our groups, otherwise a raw socket (needs CAP_NET_RAW); each is the other's
// fallback. Datagram sockets get ICMP errors through the error queue
// (IP_RECVERR), raw sockets see them as ICMP messages.

#include <sys/socket.h>
#include <sys/types.h>

#include <array>
#include <asio/io_context.hpp>
#include <asio/ip/address.hpp>
#include <asio/posix/stream_descriptor.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "common/expected.hpp"
#include "monitor/checks/net/host_resolver.hpp"
#include "monitor/checks/net/icmp_opening.hpp"
#include "monitor/checks/net/icmp_packet.hpp"
#include "monitor/checks/params/icmp_params.hpp"

namespace netmon::checks {

class CheckRunEnv;

// What happened to one echo request. Delivered once per echo, then the echo
// is forgotten by the socket.
struct IcmpEvent {
  enum class Kind : std::uint8_t { kReply, kTimeExceeded, kUnreachable, kSendFailed };
  Kind kind = Kind::kReply;
  std::uint32_t cookie = 0;         // the caller's tag from EchoRequest
  std::chrono::nanoseconds rtt{0};  // send to receive (kernel receive timestamp)
  asio::ip::address from;           // who answered: the target or a router
  std::uint8_t icmp_type = 0;       // for kUnreachable / kTimeExceeded
  std::uint8_t icmp_code = 0;
  std::error_code error;  // for kSendFailed
};

class IcmpListener {
 public:
  // Called on the loop. The listener may cancel echoes and finish from here.
  virtual void on_icmp_event(const IcmpEvent& event) = 0;

 protected:
  ~IcmpListener() = default;
};

struct EchoRequest {
  asio::ip::address to;
  std::uint16_t payload_size = 56;
  std::uint8_t ttl = 0;  // 0: the system default hop limit
  IcmpListener* listener = nullptr;
  std::uint32_t cookie = 0;
};

struct EchoTicket {
  std::uint16_t seq = 0;
  std::error_code error;  // set when the echo could not be sent (no event follows)
};

struct IcmpSocketStats {
  std::uint64_t sent = 0;
  std::uint64_t matched = 0;  // replies and errors delivered to a listener
  std::uint64_t ignored = 0;  // foreign, stale, truncated or mismatching messages
  std::uint64_t wakeups = 0;
};

class IcmpSocket : public std::enable_shared_from_this<IcmpSocket> {
 public:
  static constexpr std::size_t kMaxPayload = kMaxIcmpPayloadBytes;
  static constexpr std::size_t kMaxInFlight = 65536;

  // Takes ownership of `opened.fd` and configures it (filters, timestamps, error queue).
  IcmpSocket(asio::io_context& io, OpenedIcmpSocket opened, bool v6);
  ~IcmpSocket();
  IcmpSocket(const IcmpSocket&) = delete;
  IcmpSocket& operator=(const IcmpSocket&) = delete;

  IcmpSocketKind kind() const { return kind_; }
  bool v6() const { return v6_; }
  // The identifier on the wire (host order).
  std::uint16_t identifier() const;
  const IcmpSocketStats& stats() const { return stats_; }
  std::size_t in_flight() const { return in_flight_; }

  // Sends (or queues, when the socket buffer is full) one echo request. On
  // success exactly one event for it follows unless it is cancelled first.
  EchoTicket send_echo(const EchoRequest& request);
  // Reads what has already arrived without waiting for readiness. Probes call
  // it before giving up at their deadline, so that answers queued behind a
  // busy loop still count. May deliver events to any listener.
  void poll();
  // Forgets an echo; a late answer to it is ignored.
  void cancel(std::uint16_t seq, const IcmpListener* listener);
  void close();

 private:
  struct Slot {
    IcmpListener* listener = nullptr;  // null: free
    std::int64_t sent_ns = 0;          // CLOCK_REALTIME at send, like kernel timestamps
    std::uint64_t token = 0;
    std::uint32_t cookie = 0;
    std::uint16_t seq = 0;
    std::uint16_t size = 0;
    std::uint8_t ttl = 0;
    bool queued = false;  // waiting for socket buffer space
    std::array<std::uint8_t, 16> to{};
    std::uint32_t scope_id = 0;
  };
  struct Batch;

  Slot* find(std::uint16_t seq);
  std::optional<std::uint16_t> allocate();
  void grow();
  void release(Slot& slot);
  std::error_code transmit(Slot& slot);
  void flush_queue();
  void arm_read();
  void arm_write();
  void on_readable();
  // Reads until empty or `budget` messages; false when the budget ran out.
  bool drain(std::size_t budget);
  bool drain_errors(std::size_t budget);
  void handle(const std::uint8_t* data, std::size_t size, const void* name, std::int64_t rx_ns);
  // `message` is the msghdr the error-queue read filled (for its control data).
  void handle_error_queue(const std::uint8_t* data, std::size_t size, const void* name,
                          msghdr& message);
  void match_echo(const std::uint8_t* icmp, std::size_t size, const asio::ip::address& from,
                  std::int64_t rx_ns);
  void match_error(IcmpEvent::Kind kind, std::uint8_t type, std::uint8_t code,
                   const std::uint8_t* inner_icmp, std::size_t inner_size,
                   const std::uint8_t* inner_dst, const asio::ip::address& from,
                   std::int64_t rx_ns);
  void deliver(Slot& slot, IcmpEvent event);

  asio::posix::stream_descriptor descriptor_;
  IcmpSocketKind kind_;
  bool v6_;
  bool closed_ = false;
  bool read_armed_ = false;
  bool write_armed_ = false;
  bool draining_ = false;       // a drain is on the stack: do not start another
  std::uint16_t ident_be_ = 0;  // identifier in network byte order
  std::uint16_t next_seq_ = 0;
  std::uint64_t token_key_ = 0;
  std::uint64_t token_counter_ = 0;
  std::size_t in_flight_ = 0;
  std::size_t large_in_flight_ = 0;  // echoes whose reply does not fit the batch buffers
  std::vector<Slot> slots_;          // slot of seq s: slots_[s & (slots_.size() - 1)]
  std::vector<std::uint16_t> send_queue_;
  std::vector<std::uint8_t> packet_;  // header + payload pattern, reused for every send
  std::size_t pattern_filled_ = 0;
  std::unique_ptr<Batch> batch_;
  std::vector<std::uint8_t> large_buffer_;
  IcmpSocketStats stats_;
};

// The per-loop service: env.shared<IcmpSockets>().
class IcmpSockets {
 public:
  explicit IcmpSockets(CheckRunEnv& env);
  ~IcmpSockets();
  IcmpSockets(const IcmpSockets&) = delete;
  IcmpSockets& operator=(const IcmpSockets&) = delete;

  // Failed opens are retried after this long (permissions may get fixed),
  // not by every run.
  static constexpr std::chrono::seconds kRetryOpenAfter{1};

  // The family's socket, opened on first use.
  Expected<IcmpSocket*> get(bool v6);

  // Tests: replace socket creation and the sysctl reading (affects later opens).
  void set_opener(IcmpSocketOpener opener) {
    opener_ = std::move(opener);
    v4_.failure.reset();
    v6_.failure.reset();
  }
  void set_policy_reader(std::function<PingGroupPolicy()> reader) {
    policy_reader_ = std::move(reader);
  }

 private:
  asio::io_context& io_;
  IcmpSocketOpener opener_ = open_system_socket;
  std::function<PingGroupPolicy()> policy_reader_ = read_ping_group_policy;
  struct Family {
    std::shared_ptr<IcmpSocket> socket;
    std::optional<Error> failure;
    std::chrono::steady_clock::time_point retry_at;
  };
  Family v4_;
  Family v6_;
};

}  // namespace netmon::checks

#include "monitor/checks/net/icmp_socket.hpp"

#include <arpa/inet.h>
#include <linux/errqueue.h>
#include <linux/icmp.h>
#include <netinet/icmp6.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <asio/error.hpp>
#include <asio/post.hpp>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <random>

#include "monitor/checks/check_run_env.hpp"

namespace netmon::checks {
namespace {

constexpr std::size_t kInitialSlots = 1024;
constexpr std::size_t kTokenBytes = 8;
// Messages read per readiness before yielding to the rest of the loop.
constexpr std::size_t kDrainBudget = 4096;
constexpr int kSocketBufferBytes = 4 * 1024 * 1024;
constexpr std::size_t kErrorControlBytes = 512;

std::int64_t realtime_ns() {
  timespec now{};
  ::clock_gettime(CLOCK_REALTIME, &now);
  return static_cast<std::int64_t>(now.tv_sec) * 1'000'000'000 + now.tv_nsec;
}

// Errors a socket can hold from an earlier ICMP error (sk_err): they are
// reported once by the next send or receive and say nothing about this call.
bool is_deferred_icmp_error(int error) {
  return error == EHOSTUNREACH || error == ENETUNREACH || error == ECONNREFUSED ||
         error == EHOSTDOWN || error == EPROTO || error == ENOPROTOOPT || error == EMSGSIZE;
}

asio::ip::address address_of(const void* name) {
  const auto* family = static_cast<const sockaddr*>(name);
  if (family->sa_family == AF_INET) {
    const auto* in = static_cast<const sockaddr_in*>(name);
    asio::ip::address_v4::bytes_type bytes;
    std::memcpy(bytes.data(), &in->sin_addr, 4);
    return asio::ip::address_v4(bytes);
  }
  if (family->sa_family == AF_INET6) {
    const auto* in6 = static_cast<const sockaddr_in6*>(name);
    asio::ip::address_v6::bytes_type bytes;
    std::memcpy(bytes.data(), &in6->sin6_addr, 16);
    return asio::ip::address_v6(bytes, in6->sin6_scope_id);
  }
  return {};
}

// Copies the raw destination bytes of a sockaddr (4 or 16), or nullptr.
const std::uint8_t* destination_bytes(const void* name) {
  const auto* family = static_cast<const sockaddr*>(name);
  if (family->sa_family == AF_INET) {
    return reinterpret_cast<const std::uint8_t*>(&static_cast<const sockaddr_in*>(name)->sin_addr);
  }
  if (family->sa_family == AF_INET6) {
    return reinterpret_cast<const std::uint8_t*>(
        &static_cast<const sockaddr_in6*>(name)->sin6_addr);
  }
  return nullptr;
}

std::int64_t timestamp_of(msghdr& message, std::int64_t fallback) {
  for (cmsghdr* cmsg = CMSG_FIRSTHDR(&message); cmsg; cmsg = CMSG_NXTHDR(&message, cmsg)) {
    if (cmsg->cmsg_level == SOL_SOCKET && cmsg->cmsg_type == SCM_TIMESTAMPNS &&
        cmsg->cmsg_len >= CMSG_LEN(sizeof(timespec))) {
      timespec stamp{};
      std::memcpy(&stamp, CMSG_DATA(cmsg), sizeof(stamp));
      return static_cast<std::int64_t>(stamp.tv_sec) * 1'000'000'000 + stamp.tv_nsec;
    }
  }
  return fallback;
}

// Receive buffer per message in a recvmmsg batch: fits replies of up to 1468
// payload bytes and every ICMP error (at most 576 bytes for IPv4, 1280 for IPv6).
constexpr std::size_t kBatchBufferBytes = 1536;

// An echo whose reply (with the largest IPv4 header) would not fit a batch buffer.
bool large_echo(std::size_t payload_size) {
  return 8 + payload_size + 60 > kBatchBufferBytes;
}

}  // namespace

// Receive buffers for one recvmmsg call, allocated once per socket.
struct IcmpSocket::Batch {
  static constexpr std::size_t kCount = 64;
  static constexpr std::size_t kBufferBytes = kBatchBufferBytes;
  struct alignas(cmsghdr) Control {
    char bytes[64];
  };
  std::array<mmsghdr, kCount> headers{};
  std::array<iovec, kCount> iov{};
  std::array<sockaddr_in6, kCount> names{};
  std::array<Control, kCount> control{};
  std::array<std::uint8_t, kCount * kBufferBytes> data{};
};

IcmpSocket::IcmpSocket(asio::io_context& io, OpenedIcmpSocket opened, bool v6)
    : descriptor_(io),
      kind_(opened.kind),
      v6_(v6),
      slots_(kInitialSlots),
      batch_(std::make_unique<Batch>()) {
  descriptor_.assign(opened.fd);
  const int fd = opened.fd;
  const int on = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &on, sizeof(on));
  // Bursts of replies must not overflow the receive queue; FORCE works as root only.
  if (::setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &kSocketBufferBytes,
                   sizeof(kSocketBufferBytes)) != 0) {
    ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &kSocketBufferBytes, sizeof(kSocketBufferBytes));
  }
  if (::setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &kSocketBufferBytes,
                   sizeof(kSocketBufferBytes)) != 0) {
    ::setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &kSocketBufferBytes, sizeof(kSocketBufferBytes));
  }

  std::random_device random;
  token_key_ = (static_cast<std::uint64_t>(random()) << 32) | random();
  next_seq_ = static_cast<std::uint16_t>(random());

  if (kind_ == IcmpSocketKind::kRaw) {
    // A raw socket sees every ICMP message of the host: let only the kinds we match through.
    if (v6_) {
      icmp6_filter filter{};
      ICMP6_FILTER_SETBLOCKALL(&filter);
      ICMP6_FILTER_SETPASS(kEchoReplyV6, &filter);
      ICMP6_FILTER_SETPASS(kUnreachableV6, &filter);
      ICMP6_FILTER_SETPASS(kTimeExceededV6, &filter);
      ::setsockopt(fd, IPPROTO_ICMPV6, ICMP6_FILTER, &filter, sizeof(filter));
    } else {
      icmp_filter filter{};
      filter.data = ~((1U << kEchoReplyV4) | (1U << kUnreachableV4) | (1U << kTimeExceededV4));
      ::setsockopt(fd, SOL_RAW, ICMP_FILTER, &filter, sizeof(filter));
    }
    const auto ident = static_cast<std::uint16_t>(random());
    ident_be_ = htons(ident);
  } else {
    // Datagram sockets: ICMP errors about our echoes arrive on the error queue.
    if (v6_) {
      ::setsockopt(fd, IPPROTO_IPV6, IPV6_RECVERR, &on, sizeof(on));
      sockaddr_in6 any{};
      any.sin6_family = AF_INET6;
      ::bind(fd, reinterpret_cast<const sockaddr*>(&any), sizeof(any));
      socklen_t length = sizeof(any);
      if (::getsockname(fd, reinterpret_cast<sockaddr*>(&any), &length) == 0) {
        ident_be_ = any.sin6_port;
      }
    } else {
      ::setsockopt(fd, IPPROTO_IP, IP_RECVERR, &on, sizeof(on));
      sockaddr_in any{};
      any.sin_family = AF_INET;
      ::bind(fd, reinterpret_cast<const sockaddr*>(&any), sizeof(any));
      socklen_t length = sizeof(any);
      if (::getsockname(fd, reinterpret_cast<sockaddr*>(&any), &length) == 0) {
        ident_be_ = any.sin_port;
      }
    }
  }
  packet_.resize(8 + 64);
}

IcmpSocket::~IcmpSocket() {
  close();
}

std::uint16_t IcmpSocket::identifier() const {
  return ntohs(ident_be_);
}

void IcmpSocket::close() {
  if (closed_) return;
  closed_ = true;
  std::error_code ignored;
  descriptor_.close(ignored);
}

IcmpSocket::Slot* IcmpSocket::find(std::uint16_t seq) {
  Slot& slot = slots_[seq & (slots_.size() - 1)];
  return slot.listener && slot.seq == seq ? &slot : nullptr;
}

void IcmpSocket::grow() {
  std::vector<Slot> bigger(slots_.size() * 2);
  for (Slot& slot : slots_) {
    if (slot.listener) bigger[slot.seq & (bigger.size() - 1)] = slot;
  }
  slots_.swap(bigger);
}

std::optional<std::uint16_t> IcmpSocket::allocate() {
  if (in_flight_ * 2 >= slots_.size() && slots_.size() < kMaxInFlight) grow();
  for (std::size_t tries = 0; tries < slots_.size(); ++tries) {
    const std::uint16_t seq = next_seq_++;
    if (!slots_[seq & (slots_.size() - 1)].listener) return seq;
  }
  return std::nullopt;
}

void IcmpSocket::release(Slot& slot) {
  if (large_echo(slot.size)) --large_in_flight_;
  --in_flight_;
  slot.listener = nullptr;
  slot.queued = false;
}

void IcmpSocket::poll() {
  if (closed_ || draining_ || in_flight_ == 0) return;
  drain(kDrainBudget);
  if (kind_ == IcmpSocketKind::kDatagram && !closed_) drain_errors(kDrainBudget);
}

void IcmpSocket::cancel(std::uint16_t seq, const IcmpListener* listener) {
  // The listener check keeps a stale sequence from releasing someone else's echo.
  if (Slot* slot = find(seq); slot && slot->listener == listener) release(*slot);
}

EchoTicket IcmpSocket::send_echo(const EchoRequest& request) {
  EchoTicket ticket;
  if (closed_) {
    ticket.error = asio::error::bad_descriptor;
    return ticket;
  }
  if (request.to.is_v6() != v6_ || request.payload_size > kMaxPayload || !request.listener) {
    ticket.error = std::make_error_code(std::errc::invalid_argument);
    return ticket;
  }
  // Idle until now: throw away what piled up unwatched (nothing can match).
  if (in_flight_ == 0 && !read_armed_ && !draining_) drain(kDrainBudget);

  const std::optional<std::uint16_t> seq = allocate();
  if (!seq) {
    ticket.error = std::make_error_code(std::errc::device_or_resource_busy);
    return ticket;
  }
  Slot& slot = slots_[*seq & (slots_.size() - 1)];
  slot = Slot{};
  slot.listener = request.listener;
  slot.cookie = request.cookie;
  slot.seq = *seq;
  slot.size = request.payload_size;
  slot.ttl = request.ttl;
  slot.token = token_key_ ^ (++token_counter_ * 0x9E3779B97F4A7C15ULL);
  if (v6_) {
    const auto bytes = request.to.to_v6().to_bytes();
    std::copy(bytes.begin(), bytes.end(), slot.to.begin());
    slot.scope_id = request.to.to_v6().scope_id();
  } else {
    const auto bytes = request.to.to_v4().to_bytes();
    std::copy(bytes.begin(), bytes.end(), slot.to.begin());
  }
  ++in_flight_;
  if (large_echo(slot.size)) ++large_in_flight_;
  ticket.seq = *seq;

  if (!send_queue_.empty()) {
    slot.queued = true;
    send_queue_.push_back(*seq);
    arm_read();
    return ticket;
  }
  const std::error_code error = transmit(slot);
  if (error == std::errc::operation_would_block || error == std::errc::no_buffer_space) {
    slot.queued = true;
    send_queue_.push_back(*seq);
    arm_write();
  } else if (error) {
    release(slot);
    ticket.error = error;
    return ticket;
  }
  arm_read();
  return ticket;
}

std::error_code IcmpSocket::transmit(Slot& slot) {
  const std::size_t payload = slot.size;
  if (pattern_filled_ < payload) {
    // The payload after the token is a fixed pattern: byte i is i mod 256.
    packet_.resize(8 + payload);
    for (std::size_t i = pattern_filled_; i < payload; ++i) {
      packet_[8 + i] = static_cast<std::uint8_t>(i);
    }
    pattern_filled_ = payload;
  }
  std::uint8_t* header = packet_.data();
  std::memcpy(header + 8, &slot.token, std::min(payload, kTokenBytes));
  write_echo_header({header, 8 + payload}, v6_, kind_, ident_be_, slot.seq);

  sockaddr_in6 to6{};
  sockaddr_in to4{};
  msghdr message{};
  iovec iov{header, 8 + payload};
  message.msg_iov = &iov;
  message.msg_iovlen = 1;
  if (v6_) {
    to6.sin6_family = AF_INET6;
    std::memcpy(&to6.sin6_addr, slot.to.data(), 16);
    to6.sin6_scope_id = slot.scope_id;
    message.msg_name = &to6;
    message.msg_namelen = sizeof(to6);
  } else {
    to4.sin_family = AF_INET;
    std::memcpy(&to4.sin_addr, slot.to.data(), 4);
    message.msg_name = &to4;
    message.msg_namelen = sizeof(to4);
  }
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  if (slot.ttl != 0) {
    message.msg_control = control;
    message.msg_controllen = sizeof(control);
    cmsghdr* cmsg = CMSG_FIRSTHDR(&message);
    cmsg->cmsg_level = v6_ ? IPPROTO_IPV6 : IPPROTO_IP;
    cmsg->cmsg_type = v6_ ? IPV6_HOPLIMIT : IP_TTL;
    cmsg->cmsg_len = CMSG_LEN(sizeof(int));
    const int ttl = slot.ttl;
    std::memcpy(CMSG_DATA(cmsg), &ttl, sizeof(ttl));
  }
  for (int attempt = 0;; ++attempt) {
    slot.sent_ns = realtime_ns();
    if (::sendmsg(descriptor_.native_handle(), &message, MSG_DONTWAIT) >= 0) {
      ++stats_.sent;
      return {};
    }
    const int error = errno;
    if (error == EINTR) continue;
    // A pending error from an earlier ICMP message is reported once; try again.
    if (attempt == 0 && is_deferred_icmp_error(error)) continue;
    return {error, std::system_category()};
  }
}

void IcmpSocket::flush_queue() {
  std::size_t done = 0;
  for (; done < send_queue_.size(); ++done) {
    Slot* slot = find(send_queue_[done]);
    if (!slot || !slot->queued) continue;
    const std::error_code error = transmit(*slot);
    if (error == std::errc::operation_would_block || error == std::errc::no_buffer_space) break;
    slot->queued = false;
    if (error) {
      IcmpEvent event;
      event.kind = IcmpEvent::Kind::kSendFailed;
      event.error = error;
      deliver(*slot, event);
    }
  }
  send_queue_.erase(send_queue_.begin(), send_queue_.begin() + static_cast<std::ptrdiff_t>(done));
  if (!send_queue_.empty()) arm_write();
}

void IcmpSocket::arm_write() {
  if (write_armed_ || closed_) return;
  write_armed_ = true;
  descriptor_.async_wait(asio::posix::descriptor_base::wait_write,
                         [self = shared_from_this()](const std::error_code& error) {
                           self->write_armed_ = false;
                           if (error || self->closed_) return;
                           self->flush_queue();
                         });
}

void IcmpSocket::arm_read() {
  if (read_armed_ || closed_ || in_flight_ == 0) return;
  read_armed_ = true;
  descriptor_.async_wait(asio::posix::descriptor_base::wait_read,
                         [self = shared_from_this()](const std::error_code& error) {
                           self->read_armed_ = false;
                           if (error || self->closed_) return;
                           self->on_readable();
                         });
}

void IcmpSocket::on_readable() {
  ++stats_.wakeups;
  bool emptied = drain(kDrainBudget);
  if (kind_ == IcmpSocketKind::kDatagram && !closed_) {
    emptied = drain_errors(kDrainBudget) && emptied;
  }
  if (closed_) return;
  if (!emptied) {
    // Budget spent: let other handlers run, then continue without waiting for a new edge.
    read_armed_ = true;
    asio::post(descriptor_.get_executor(), [self = shared_from_this()] {
      self->read_armed_ = false;
      if (!self->closed_) self->on_readable();
    });
    return;
  }
  arm_read();
}

bool IcmpSocket::drain(std::size_t budget) {
  draining_ = true;
  const int fd = descriptor_.native_handle();
  std::size_t read = 0;
  int deferred_errors = 0;
  bool emptied = false;
  while (!closed_) {
    if (read >= budget) break;
    if (large_in_flight_ > 0) {
      if (large_buffer_.empty()) large_buffer_.resize(65536 + 128);
      sockaddr_in6 name{};
      Batch::Control control{};
      iovec iov{large_buffer_.data(), large_buffer_.size()};
      msghdr message{};
      message.msg_name = &name;
      message.msg_namelen = sizeof(name);
      message.msg_iov = &iov;
      message.msg_iovlen = 1;
      message.msg_control = control.bytes;
      message.msg_controllen = sizeof(control.bytes);
      const ssize_t n = ::recvmsg(fd, &message, MSG_DONTWAIT);
      if (n < 0) {
        if (errno == EINTR || (is_deferred_icmp_error(errno) && ++deferred_errors < 4)) continue;
        emptied = true;
        break;
      }
      ++read;
      if (message.msg_flags & MSG_TRUNC) {
        ++stats_.ignored;
        continue;
      }
      handle(large_buffer_.data(), static_cast<std::size_t>(n), &name,
             timestamp_of(message, realtime_ns()));
      continue;
    }
    Batch& batch = *batch_;
    for (std::size_t i = 0; i < Batch::kCount; ++i) {
      batch.iov[i] = iovec{batch.data.data() + i * Batch::kBufferBytes, Batch::kBufferBytes};
      msghdr& message = batch.headers[i].msg_hdr;
      message = msghdr{};
      message.msg_name = &batch.names[i];
      message.msg_namelen = sizeof(sockaddr_in6);
      message.msg_iov = &batch.iov[i];
      message.msg_iovlen = 1;
      message.msg_control = batch.control[i].bytes;
      message.msg_controllen = sizeof(batch.control[i].bytes);
      batch.headers[i].msg_len = 0;
    }
    const int n = ::recvmmsg(fd, batch.headers.data(), Batch::kCount, MSG_DONTWAIT, nullptr);
    if (n < 0) {
      if (errno == EINTR || (is_deferred_icmp_error(errno) && ++deferred_errors < 4)) continue;
      emptied = true;
      break;
    }
    read += static_cast<std::size_t>(n);
    std::int64_t now_ns = 0;
    for (int i = 0; i < n && !closed_; ++i) {
      msghdr& message = batch.headers[i].msg_hdr;
      if (message.msg_flags & MSG_TRUNC) {
        ++stats_.ignored;
        continue;
      }
      std::int64_t rx_ns = timestamp_of(message, 0);
      if (rx_ns == 0) rx_ns = now_ns != 0 ? now_ns : (now_ns = realtime_ns());
      handle(batch.data.data() + static_cast<std::size_t>(i) * Batch::kBufferBytes,
             batch.headers[i].msg_len, &batch.names[i], rx_ns);
    }
    if (static_cast<std::size_t>(n) < Batch::kCount) {
      emptied = true;
      break;
    }
  }
  draining_ = false;
  return emptied || closed_;
}

bool IcmpSocket::drain_errors(std::size_t budget) {
  const int fd = descriptor_.native_handle();
  std::array<std::uint8_t, 1536> data;
  alignas(cmsghdr) char control[kErrorControlBytes];
  for (std::size_t read = 0; read < budget && !closed_; ++read) {
    sockaddr_in6 name{};
    iovec iov{data.data(), data.size()};
    msghdr message{};
    message.msg_name = &name;
    message.msg_namelen = sizeof(name);
    message.msg_iov = &iov;
    message.msg_iovlen = 1;
    message.msg_control = control;
    message.msg_controllen = sizeof(control);
    const ssize_t n = ::recvmsg(fd, &message, MSG_ERRQUEUE | MSG_DONTWAIT);
    if (n < 0) {
      if (errno == EINTR) continue;
      return true;
    }
    handle_error_queue(data.data(), static_cast<std::size_t>(n), &name, message);
  }
  return closed_;
}

void IcmpSocket::handle(const std::uint8_t* data, std::size_t size, const void* name,
                        std::int64_t rx_ns) {
  const std::optional<IcmpMessage> message = parse_icmp_message({data, size}, v6_, kind_);
  if (!message) {
    ++stats_.ignored;
    return;
  }
  const asio::ip::address from = address_of(name);
  if (message->kind == IcmpMessage::Kind::kEchoReply) {
    match_echo(message->icmp.data(), message->icmp.size(), from, rx_ns);
    return;
  }
  match_error(message->kind == IcmpMessage::Kind::kUnreachable ? IcmpEvent::Kind::kUnreachable
                                                               : IcmpEvent::Kind::kTimeExceeded,
              message->type, message->code, message->icmp.data(), message->icmp.size(),
              message->quoted_destination.data(), from, rx_ns);
}

void IcmpSocket::handle_error_queue(const std::uint8_t* data, std::size_t size, const void* name,
                                    msghdr& message) {
  const sock_extended_err* error = nullptr;
  for (cmsghdr* cmsg = CMSG_FIRSTHDR(&message); cmsg; cmsg = CMSG_NXTHDR(&message, cmsg)) {
    if ((cmsg->cmsg_level == SOL_IP && cmsg->cmsg_type == IP_RECVERR) ||
        (cmsg->cmsg_level == SOL_IPV6 && cmsg->cmsg_type == IPV6_RECVERR)) {
      error = reinterpret_cast<const sock_extended_err*>(CMSG_DATA(cmsg));
    }
  }
  const std::uint8_t* destination = destination_bytes(name);
  if (!error || !destination ||
      error->ee_origin != (v6_ ? SO_EE_ORIGIN_ICMP6 : SO_EE_ORIGIN_ICMP)) {
    ++stats_.ignored;
    return;
  }
  IcmpEvent::Kind kind;
  if (error->ee_type == (v6_ ? kUnreachableV6 : kUnreachableV4)) {
    kind = IcmpEvent::Kind::kUnreachable;
  } else if (error->ee_type == (v6_ ? kTimeExceededV6 : kTimeExceededV4)) {
    kind = IcmpEvent::Kind::kTimeExceeded;
  } else {
    ++stats_.ignored;
    return;
  }
  const auto* offender = SO_EE_OFFENDER(const_cast<sock_extended_err*>(error));
  match_error(kind, error->ee_type, error->ee_code, data, size, destination, address_of(offender),
              timestamp_of(message, realtime_ns()));
}

void IcmpSocket::match_echo(const std::uint8_t* icmp, std::size_t size,
                            const asio::ip::address& from, std::int64_t rx_ns) {
  // Datagram sockets: the kernel already delivered only our identifier.
  if (kind_ == IcmpSocketKind::kRaw && std::memcmp(icmp + 4, &ident_be_, 2) != 0) {
    ++stats_.ignored;
    return;
  }
  Slot* slot = find(load16(icmp + 6));
  const std::size_t payload = size - 8;
  if (!slot || slot->queued || payload != slot->size ||
      std::memcmp(icmp + 8, &slot->token, std::min(payload, kTokenBytes)) != 0 ||
      (payload > kTokenBytes &&
       std::memcmp(icmp + 8 + kTokenBytes, packet_.data() + 8 + kTokenBytes,
                   payload - kTokenBytes) != 0)) {
    ++stats_.ignored;
    return;
  }
  IcmpEvent event;
  event.kind = IcmpEvent::Kind::kReply;
  event.from = from;
  event.rtt = std::chrono::nanoseconds(std::max<std::int64_t>(rx_ns - slot->sent_ns, 0));
  deliver(*slot, event);
}

void IcmpSocket::match_error(IcmpEvent::Kind kind, std::uint8_t type, std::uint8_t code,
                             const std::uint8_t* inner_icmp, std::size_t inner_size,
                             const std::uint8_t* inner_dst, const asio::ip::address& from,
                             std::int64_t rx_ns) {
  if (inner_size < 8 || inner_icmp[0] != (v6_ ? kEchoRequestV6 : kEchoRequestV4) ||
      (kind_ == IcmpSocketKind::kRaw && std::memcmp(inner_icmp + 4, &ident_be_, 2) != 0)) {
    ++stats_.ignored;
    return;
  }
  Slot* slot = find(load16(inner_icmp + 6));
  if (!slot || slot->queued || std::memcmp(inner_dst, slot->to.data(), v6_ ? 16 : 4) != 0) {
    ++stats_.ignored;
    return;
  }
  // Routers may quote only 8 bytes of our message; check the token when they quote more.
  const std::size_t quoted = std::min<std::size_t>(inner_size - 8, slot->size);
  if (std::memcmp(inner_icmp + 8, &slot->token, std::min(quoted, kTokenBytes)) != 0) {
    ++stats_.ignored;
    return;
  }
  IcmpEvent event;
  event.kind = kind;
  event.icmp_type = type;
  event.icmp_code = code;
  event.from = from;
  event.rtt = std::chrono::nanoseconds(std::max<std::int64_t>(rx_ns - slot->sent_ns, 0));
  deliver(*slot, event);
}

void IcmpSocket::deliver(Slot& slot, IcmpEvent event) {
  IcmpListener* listener = slot.listener;
  event.cookie = slot.cookie;
  release(slot);
  ++stats_.matched;
  listener->on_icmp_event(event);
}

IcmpSockets::IcmpSockets(CheckRunEnv& env) : io_(env.io()) {}

IcmpSockets::~IcmpSockets() {
  if (v4_.socket) v4_.socket->close();
  if (v6_.socket) v6_.socket->close();
}

Expected<IcmpSocket*> IcmpSockets::get(bool v6) {
  Family& family = v6 ? v6_ : v4_;
  if (family.socket) return family.socket.get();
  const auto now = std::chrono::steady_clock::now();
  if (family.failure && now < family.retry_at) return *family.failure;
  auto opened = open_icmp_socket(v6, policy_reader_(), opener_);
  if (!opened) {
    family.failure = opened.error();
    family.retry_at = now + kRetryOpenAfter;
    return opened.error();
  }
  family.failure.reset();
  family.socket = std::make_shared<IcmpSocket>(io_, *opened, v6);
  return family.socket.get();
}

}  // namespace netmon::checks

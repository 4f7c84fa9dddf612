#include "tests/bench/bench_servers.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <stdexcept>
#include <string_view>

namespace netmon::bench {
namespace {

constexpr int kBatch = 64;               // datagrams per recvmmsg/sendmmsg
constexpr int kMaxBatchesPerWake = 8;    // then let the other sockets have a turn
constexpr int kMaxAcceptsPerWake = 256;  // the same for listeners
constexpr std::size_t kDatagramBytes = 2048;
constexpr std::size_t kMaxHttpRequestBytes = 16 * 1024;
constexpr int kLiveBacklog = 4096;
constexpr std::string_view kHttpResponse =
    "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n"
    "Connection: close\r\n\r\nok";
// Seconds from 1900-01-01 (NTP era 0) to 1970-01-01.
constexpr std::uint64_t kNtpUnixOffset = 2'208'988'800ULL;

[[noreturn]] void fail(const std::string& what) {
  throw std::runtime_error("bench servers: " + what + ": " + std::strerror(errno));
}

sockaddr_in loopback(std::uint16_t port) {
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return address;
}

std::uint16_t local_port(int fd) {
  sockaddr_in address{};
  socklen_t length = sizeof(address);
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) fail("getsockname");
  return ntohs(address.sin_port);
}

std::uint64_t ntp_now() {
  const auto since_epoch = std::chrono::system_clock::now().time_since_epoch();
  const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(since_epoch);
  const auto nanos = std::chrono::duration_cast<std::chrono::nanoseconds>(since_epoch - seconds);
  const std::uint64_t fraction =
      (static_cast<std::uint64_t>(nanos.count()) << 32) / 1'000'000'000ULL;
  return ((static_cast<std::uint64_t>(seconds.count()) + kNtpUnixOffset) << 32) | fraction;
}

void put_be64(std::uint8_t* at, std::uint64_t value) {
  for (int i = 7; i >= 0; --i) {
    at[i] = static_cast<std::uint8_t>(value & 0xff);
    value >>= 8;
  }
}

// Turns an SNTP request (in place) into a server reply; false when it is not one.
bool make_ntp_reply(std::uint8_t* packet, std::size_t size) {
  if (size < 48) return false;
  const int version = (packet[0] >> 3) & 0x7;
  std::uint8_t transmit[8];
  std::memcpy(transmit, packet + 40, 8);
  const std::uint64_t now = ntp_now();
  std::memset(packet, 0, 48);
  packet[0] = static_cast<std::uint8_t>((0 << 6) | (version << 3) | 4);  // LI 0, mode 4
  packet[1] = 2;                                                         // stratum
  packet[2] = 6;                                                         // poll
  packet[3] = static_cast<std::uint8_t>(-20);                            // precision ~1 µs
  packet[7] = 0x10;                                                      // root delay ~0.25 ms
  packet[11] = 0x10;                                                     // root dispersion
  packet[12] = 127;                                                      // reference id 127.0.0.1
  packet[15] = 1;
  put_be64(packet + 16, now - (std::uint64_t{16} << 32));  // reference time: 16 s ago
  std::memcpy(packet + 24, transmit, 8);                   // originate = client transmit
  put_be64(packet + 32, now);                              // receive
  put_be64(packet + 40, now);                              // transmit
  return true;
}

// Builds the answer to a DNS query: same id and question, QR and RA set,
// NOERROR, and for an A/IN question one A record 127.0.0.1 (TTL 60).
// Returns the reply size, 0 when the query does not parse.
std::size_t make_dns_reply(const std::uint8_t* query, std::size_t size, std::uint8_t* out,
                           std::size_t capacity) {
  if (size < 12 || (query[2] & 0x80) != 0) return 0;
  if (query[4] != 0 || query[5] != 1) return 0;  // exactly one question
  std::size_t at = 12;
  while (at < size && query[at] != 0) {
    if ((query[at] & 0xc0) != 0) return 0;  // no compression in a question we answer
    at += query[at] + 1u;
  }
  if (at + 5 > size) return 0;
  const std::size_t question_end = at + 5;  // root label + type + class
  const bool type_a =
      query[at + 1] == 0 && query[at + 2] == 1 && query[at + 3] == 0 && query[at + 4] == 1;
  const std::size_t answer_bytes = type_a ? 16 : 0;
  if (question_end + answer_bytes > capacity) return 0;

  std::memcpy(out, query, question_end);
  out[2] = static_cast<std::uint8_t>(0x80 | (query[2] & 0x79));  // QR, opcode, RD kept; AA/TC clear
  out[3] = 0x80;                                                 // RA, rcode NOERROR
  out[6] = 0;
  out[7] = type_a ? 1 : 0;     // ANCOUNT
  std::memset(out + 8, 0, 4);  // NSCOUNT, ARCOUNT (an OPT record in the query is dropped)
  if (type_a) {
    static constexpr std::uint8_t kAnswer[16] = {0xc0, 0x0c, 0, 1, 0,   1, 0, 0,
                                                 0,    60,   0, 4, 127, 0, 0, 1};
    std::memcpy(out + question_end, kAnswer, sizeof(kAnswer));
  }
  return question_end + answer_bytes;
}

struct DatagramBatch {
  std::array<std::array<std::uint8_t, kDatagramBytes>, kBatch> in{};
  std::array<std::array<std::uint8_t, kDatagramBytes>, kBatch> out{};
  std::array<sockaddr_in, kBatch> peers{};
  std::array<iovec, kBatch> in_iov{};
  std::array<iovec, kBatch> out_iov{};
  std::array<mmsghdr, kBatch> in_msgs{};
  std::array<mmsghdr, kBatch> out_msgs{};
};

}  // namespace

bool pin_current_thread(int cpu) {
  if (cpu < 0) return false;
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  return pthread_setaffinity_np(pthread_self(), sizeof(set), &set) == 0;
}

std::vector<int> allowed_cpus() {
  cpu_set_t set;
  CPU_ZERO(&set);
  std::vector<int> cpus;
  if (sched_getaffinity(0, sizeof(set), &set) != 0) return cpus;
  for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu) {
    if (CPU_ISSET(cpu, &set)) cpus.push_back(cpu);
  }
  return cpus;
}

BenchServers::BenchServers(int ports_per_service, int cpu) {
  epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
  if (epoll_fd_ < 0) fail("epoll_create1");
  stop_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (stop_fd_ < 0) fail("eventfd");
  try {
    watch(stop_fd_, Kind::kStop);
    open_all(ports_per_service);
  } catch (...) {
    for (const int fd : fds_)
      close(fd);
    for (const int fd : dead_fill_)
      close(fd);
    close(stop_fd_);
    close(epoll_fd_);
    throw;
  }
  thread_ = std::thread([this, cpu] { run(cpu); });
  native_thread_ = thread_.native_handle();
}

BenchServers::~BenchServers() {
  const std::uint64_t one = 1;
  if (write(stop_fd_, &one, sizeof(one)) != sizeof(one)) {
    // The eventfd cannot be full after one write; nothing else can fail here.
  }
  if (thread_.joinable()) thread_.join();
  for (std::size_t fd = 0; fd < http_open_.size(); ++fd) {
    if (http_open_[fd]) close(static_cast<int>(fd));
  }
  for (const int fd : fds_)
    close(fd);
  for (const int fd : dead_fill_)
    close(fd);
  close(stop_fd_);
  close(epoll_fd_);
}

double BenchServers::cpu_seconds() const {
  clockid_t clock{};
  timespec used{};
  if (pthread_getcpuclockid(native_thread_, &clock) != 0 || clock_gettime(clock, &used) != 0) {
    return 0.0;
  }
  return static_cast<double>(used.tv_sec) + static_cast<double>(used.tv_nsec) / 1e9;
}

std::uint16_t BenchServers::listen_tcp(int backlog, int* fd_out) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) fail("socket");
  fds_.push_back(fd);
  const int on = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
  const sockaddr_in address = loopback(0);
  if (bind(fd, reinterpret_cast<const sockaddr*>(&address), sizeof(address)) != 0) fail("bind");
  if (listen(fd, backlog) != 0) fail("listen");
  *fd_out = fd;
  return local_port(fd);
}

std::uint16_t BenchServers::bind_udp(int* fd_out) {
  const int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) fail("socket");
  fds_.push_back(fd);
  const int buffer_bytes = 4 * 1024 * 1024;  // capped by net.core.[rw]mem_max
  setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buffer_bytes, sizeof(buffer_bytes));
  setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &buffer_bytes, sizeof(buffer_bytes));
  const sockaddr_in address = loopback(0);
  if (bind(fd, reinterpret_cast<const sockaddr*>(&address), sizeof(address)) != 0) fail("bind");
  *fd_out = fd;
  return local_port(fd);
}

void BenchServers::watch(int fd, Kind kind) {
  epoll_event event{};
  event.events = EPOLLIN;
  event.data.u64 = (static_cast<std::uint64_t>(kind) << 32) | static_cast<std::uint32_t>(fd);
  if (epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &event) != 0) fail("epoll_ctl");
}

void BenchServers::open_all(int ports_per_service) {
  int fd = -1;
  for (int i = 0; i < ports_per_service; ++i) {
    ports_.tcp.push_back(listen_tcp(kLiveBacklog, &fd));
    watch(fd, Kind::kTcp);
    ports_.http.push_back(listen_tcp(kLiveBacklog, &fd));
    watch(fd, Kind::kHttpListen);
    ports_.dns.push_back(bind_udp(&fd));
    watch(fd, Kind::kDns);
    ports_.ntp.push_back(bind_udp(&fd));
    watch(fd, Kind::kNtp);
    ports_.udp_echo.push_back(bind_udp(&fd));
    watch(fd, Kind::kEcho);
  }

  // Dead UDP: bound, never read. Its small buffer fills and the rest is dropped.
  ports_.dead_udp = bind_udp(&fd);
  const int small = 4096;
  setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));

  // Dead TCP: backlog 0 holds one finished handshake; fill it, never accept,
  // and every later SYN is dropped (ListenOverflows), so connects time out.
  ports_.dead_tcp = listen_tcp(0, &fd);
  const sockaddr_in dead = loopback(ports_.dead_tcp);
  for (int i = 0; i < 3; ++i) {
    const int client = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (client < 0) fail("socket");
    dead_fill_.push_back(client);
    if (connect(client, reinterpret_cast<const sockaddr*>(&dead), sizeof(dead)) != 0 &&
        errno != EINPROGRESS) {
      fail("connect to the dead listener");
    }
    if (i == 0) {  // the first handshake completes into the backlog
      pollfd wait{client, POLLOUT, 0};
      if (poll(&wait, 1, 2000) != 1) fail("filling the dead listener's backlog");
    }
  }
}

void BenchServers::run(int cpu) {
  pthread_setname_np(pthread_self(), "bench-servers");
  pin_current_thread(cpu);
  std::array<epoll_event, 256> events{};
  for (;;) {
    const int n = epoll_wait(epoll_fd_, events.data(), static_cast<int>(events.size()), -1);
    if (n < 0) {
      if (errno == EINTR) continue;
      return;
    }
    for (int i = 0; i < n; ++i) {
      const auto kind = static_cast<Kind>(events[i].data.u64 >> 32);
      const int fd = static_cast<int>(events[i].data.u64 & 0xffffffffu);
      switch (kind) {
        case Kind::kStop:
          return;
        case Kind::kTcp:
          on_tcp(fd);
          break;
        case Kind::kDns:
        case Kind::kNtp:
        case Kind::kEcho:
          on_udp(fd, kind);
          break;
        case Kind::kHttpListen:
          on_http_listen(fd);
          break;
        case Kind::kHttpConn:
          on_http_conn(fd);
          break;
      }
    }
  }
}

void BenchServers::on_tcp(int fd) {
  for (int i = 0; i < kMaxAcceptsPerWake; ++i) {
    const int client = accept4(fd, nullptr, nullptr, SOCK_CLOEXEC);
    if (client < 0) return;  // EAGAIN, or the peer already reset: nothing to do
    // A plain close (FIN): the check's own RST then ends the connection
    // without TIME_WAIT. An RST from here could reach the client before it
    // has seen its connect complete, and turn the check into a reset.
    close(client);
    counters_.tcp_accepted.fetch_add(1, std::memory_order_relaxed);
  }
}

void BenchServers::on_udp(int fd, Kind kind) {
  static thread_local DatagramBatch batch;
  for (int round = 0; round < kMaxBatchesPerWake; ++round) {
    for (int i = 0; i < kBatch; ++i) {
      batch.in_iov[i] = {batch.in[i].data(), kDatagramBytes};
      batch.in_msgs[i] = {};
      batch.in_msgs[i].msg_hdr.msg_name = &batch.peers[i];
      batch.in_msgs[i].msg_hdr.msg_namelen = sizeof(sockaddr_in);
      batch.in_msgs[i].msg_hdr.msg_iov = &batch.in_iov[i];
      batch.in_msgs[i].msg_hdr.msg_iovlen = 1;
    }
    const int received = recvmmsg(fd, batch.in_msgs.data(), kBatch, MSG_DONTWAIT, nullptr);
    if (received <= 0) return;
    int replies = 0;
    for (int i = 0; i < received; ++i) {
      std::uint8_t* data = batch.in[i].data();
      std::size_t size = batch.in_msgs[i].msg_len;
      std::size_t reply_size = 0;
      std::uint8_t* reply = data;
      if (kind == Kind::kEcho) {
        reply_size = size;
        counters_.echoed.fetch_add(1, std::memory_order_relaxed);
      } else if (kind == Kind::kNtp) {
        if (make_ntp_reply(data, size)) {
          reply_size = 48;
          counters_.ntp_answered.fetch_add(1, std::memory_order_relaxed);
        }
      } else {
        reply = batch.out[i].data();
        reply_size = make_dns_reply(data, size, reply, kDatagramBytes);
        if (reply_size > 0) counters_.dns_answered.fetch_add(1, std::memory_order_relaxed);
      }
      if (reply_size == 0) {
        counters_.malformed.fetch_add(1, std::memory_order_relaxed);
        continue;
      }
      batch.out_iov[replies] = {reply, reply_size};
      batch.out_msgs[replies] = {};
      batch.out_msgs[replies].msg_hdr.msg_name = &batch.peers[i];
      batch.out_msgs[replies].msg_hdr.msg_namelen = batch.in_msgs[i].msg_hdr.msg_namelen;
      batch.out_msgs[replies].msg_hdr.msg_iov = &batch.out_iov[replies];
      batch.out_msgs[replies].msg_hdr.msg_iovlen = 1;
      ++replies;
    }
    int sent = 0;
    while (sent < replies) {
      const int n = sendmmsg(fd, batch.out_msgs.data() + sent,
                             static_cast<unsigned>(replies - sent), MSG_DONTWAIT);
      if (n <= 0) break;  // the client's socket is gone or full: a lost reply, as on a network
      sent += n;
    }
    if (received < kBatch) return;
  }
}

void BenchServers::on_http_listen(int fd) {
  for (int i = 0; i < kMaxAcceptsPerWake; ++i) {
    const int client = accept4(fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (client < 0) return;
    const auto slot = static_cast<std::size_t>(client);
    if (slot >= http_buffers_.size()) {
      http_buffers_.resize(slot + 1024);
      http_open_.resize(slot + 1024, false);
    }
    http_buffers_[slot].clear();
    http_open_[slot] = true;
    watch(client, Kind::kHttpConn);
  }
}

void BenchServers::on_http_conn(int fd) {
  std::string& request = http_buffers_[static_cast<std::size_t>(fd)];
  char chunk[4096];
  for (;;) {
    const ssize_t n = read(fd, chunk, sizeof(chunk));
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
      close_http(fd);
      return;
    }
    if (n < 0) {
      if (errno == EINTR) continue;
      return;  // EAGAIN: wait for the rest of the request
    }
    const std::size_t scan_from = request.size() >= 3 ? request.size() - 3 : 0;
    request.append(chunk, static_cast<std::size_t>(n));
    if (request.find("\r\n\r\n", scan_from) != std::string::npos) {
      if (write(fd, kHttpResponse.data(), kHttpResponse.size()) ==
          static_cast<ssize_t>(kHttpResponse.size())) {
        counters_.http_served.fetch_add(1, std::memory_order_relaxed);
      }
      close_http(fd);
      return;
    }
    if (request.size() > kMaxHttpRequestBytes) {
      counters_.malformed.fetch_add(1, std::memory_order_relaxed);
      close_http(fd);
      return;
    }
  }
}

void BenchServers::close_http(int fd) {
  http_buffers_[static_cast<std::size_t>(fd)].clear();  // keeps its capacity for the next one
  http_open_[static_cast<std::size_t>(fd)] = false;
  close(fd);  // also leaves the epoll set
}

}  // namespace netmon::bench

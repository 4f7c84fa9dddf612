#pragma once
// Loopback servers for the engine benchmark, on one thread of their own
// (pinned to a core other than the engine's), written with plain epoll and
// batched syscalls so that the server side is never what a figure measures.
//
//   tcp        accept and close at once (the check resets, so no TIME_WAIT anywhere)
//   dns        minimal UDP responder: copies id and question, QR set, one A record
//   ntp        SNTP responder: mode 4, stratum 2, originate = the client's transmit
//   udp_echo   sends every datagram back unchanged
//   http       HTTP/1.1: reads to the blank line, answers 200 with a 2-byte body, closes
//   dead_tcp   a listener whose accept backlog is full and that never accepts:
//              SYNs to it are dropped, so connects hang until the check's timeout
//   dead_udp   a bound UDP socket nobody reads: datagrams are swallowed, no ICMP
//
// Everything binds 127.0.0.1 on ports chosen by the kernel. Loopback only.

#include <pthread.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace netmon::bench {

struct ServerPorts {
  std::vector<std::uint16_t> tcp;
  std::vector<std::uint16_t> dns;
  std::vector<std::uint16_t> ntp;
  std::vector<std::uint16_t> udp_echo;
  std::vector<std::uint16_t> http;
  std::uint16_t dead_tcp = 0;
  std::uint16_t dead_udp = 0;
};

struct ServerCounters {
  std::atomic<std::uint64_t> tcp_accepted{0};
  std::atomic<std::uint64_t> dns_answered{0};
  std::atomic<std::uint64_t> ntp_answered{0};
  std::atomic<std::uint64_t> echoed{0};
  std::atomic<std::uint64_t> http_served{0};
  std::atomic<std::uint64_t> malformed{0};
};

class BenchServers {
 public:
  // Opens `ports_per_service` ports per service and starts the server thread,
  // pinned to `cpu` (-1: not pinned). Throws std::runtime_error on failure.
  BenchServers(int ports_per_service, int cpu);
  // Stops the thread and closes every socket.
  ~BenchServers();
  BenchServers(const BenchServers&) = delete;
  BenchServers& operator=(const BenchServers&) = delete;

  const ServerPorts& ports() const { return ports_; }
  const ServerCounters& counters() const { return counters_; }
  // CPU time the server thread has used so far (user + system), in seconds.
  double cpu_seconds() const;

 private:
  enum class Kind : std::uint32_t { kStop, kTcp, kDns, kNtp, kEcho, kHttpListen, kHttpConn };

  void open_all(int ports_per_service);
  std::uint16_t listen_tcp(int backlog, int* fd_out);
  std::uint16_t bind_udp(int* fd_out);
  void watch(int fd, Kind kind);
  void run(int cpu);
  void on_tcp(int fd);
  void on_udp(int fd, Kind kind);
  void on_http_listen(int fd);
  void on_http_conn(int fd);
  void close_http(int fd);

  int epoll_fd_ = -1;
  int stop_fd_ = -1;
  std::vector<int> fds_;        // every listening / bound socket we own
  std::vector<int> dead_fill_;  // client sockets that keep the dead listener's backlog full
  std::vector<std::string> http_buffers_;  // request bytes so far, by connection fd
  std::vector<bool> http_open_;            // by connection fd
  ServerPorts ports_;
  ServerCounters counters_;
  std::thread thread_;
  pthread_t native_thread_{};
};

// Pins the calling thread to `cpu`; false when that is not possible.
bool pin_current_thread(int cpu);
// CPUs this process may run on, in order.
std::vector<int> allowed_cpus();

}  // namespace netmon::bench

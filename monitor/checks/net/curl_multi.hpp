#pragma once
// One libcurl multi handle per event loop, driven by that loop: curl tells us
// which sockets it wants watched (CURLMOPT_SOCKETFUNCTION) and when it wants a
// timeout (CURLMOPT_TIMERFUNCTION); we answer with curl_multi_socket_action.
// No threads, no curl_easy_perform. Get the loop's instance with
// env.open_shared<CurlMulti>().
//
// Sockets are watched through one level-triggered epoll set that sits in the
// asio loop as a single descriptor. (Asio's own reactor is edge-triggered, and
// curl does not promise to drain a socket per call, so watching curl's sockets
// one by one with async_wait can miss data that is already buffered.) After a
// round that found ready sockets the next round is posted, so whatever curl
// left unread is seen again without waiting for a new edge.

#include <curl/curl.h>
#include <sys/epoll.h>

#include <array>
#include <asio/posix/stream_descriptor.hpp>
#include <asio/steady_timer.hpp>
#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <vector>

#include "common/expected.hpp"

namespace netmon::checks {

class CheckRunEnv;

class CurlMulti : public std::enable_shared_from_this<CurlMulti> {
 public:
  // Told when its easy handle finished (any CURLcode). Called on the loop,
  // never from inside a curl callback; the handle is still attached then.
  class Transfer {
   public:
    virtual void on_transfer_done(CURLcode result) = 0;
    // The first time curl waits to read from one of the transfer's sockets,
    // i.e. a TCP connection is established (curl reports no connect time
    // for a transfer whose TLS handshake then fails).
    virtual void on_connected() {}

   protected:
    ~Transfer() = default;
  };

  // Easy handles kept for reuse (each holds a 16 KiB receive buffer; curl_easy_init is not cheap).
  static constexpr std::size_t kMaxPooledHandles = 512;
  static constexpr std::size_t kEventsPerRound = 256;

  // A new multi on env's loop, or an Error naming what could not be opened
  // (curl_global_init, the epoll set, curl_multi_init).
  static Expected<std::shared_ptr<CurlMulti>> open(CheckRunEnv& env);
  ~CurlMulti();
  CurlMulti(const CurlMulti&) = delete;
  CurlMulti& operator=(const CurlMulti&) = delete;

  // A freshly reset easy handle (from the pool when possible); nullptr if curl
  // cannot allocate one.
  CURL* acquire();
  // Starts `easy` (set up by the caller) and reports it to `transfer`.
  // On failure the handle is not attached and the caller still owns it.
  [[nodiscard]] CURLMcode start(CURL* easy, Transfer& transfer);
  // Detaches `easy` if attached (closing its connection), resets it and keeps
  // it for reuse. Safe at any time on the loop, including from on_transfer_done.
  void release(CURL* easy);

  std::size_t running() const { return attached_; }

 private:
  explicit CurlMulti(asio::io_context& io);

  static int on_socket(CURL* easy, curl_socket_t fd, int what, void* self, void* socket_state);
  static int on_timer(CURLM* multi, long timeout_ms, void* self);

  void watch(curl_socket_t fd, int what, void* socket_state);
  void schedule_timeout(long timeout_ms);
  void wait_for_events();
  void poll_events();
  void timer_fired();
  void run_timeout();
  void deliver_completed();

  asio::io_context& io_;
  CURLM* multi_ = nullptr;
  asio::posix::stream_descriptor epoll_;
  bool epoll_waiting_ = false;
  bool poll_posted_ = false;
  asio::steady_timer timer_;
  bool timer_waiting_ = false;
  bool timeout_posted_ = false;
  std::optional<asio::steady_timer::time_point> deadline_;
  std::array<epoll_event, kEventsPerRound> events_{};
  std::vector<CURL*> pool_;
  std::size_t attached_ = 0;
};

}  // namespace netmon::checks

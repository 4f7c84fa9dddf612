#include "monitor/checks/net/curl_multi.hpp"

#include <unistd.h>

#include <asio/post.hpp>
#include <cerrno>
#include <string>
#include <system_error>

#include "monitor/checks/check_run_env.hpp"

namespace netmon::checks {
namespace {

CURLcode init_curl_once() {
  static const CURLcode result = curl_global_init(CURL_GLOBAL_DEFAULT);
  return result;
}

}  // namespace

CurlMulti::CurlMulti(asio::io_context& io) : io_(io), epoll_(io), timer_(io) {}

Expected<std::shared_ptr<CurlMulti>> CurlMulti::open(CheckRunEnv& env) {
  if (const CURLcode code = init_curl_once(); code != CURLE_OK) {
    return Error{std::string("curl_global_init: ") + curl_easy_strerror(code)};
  }
  std::shared_ptr<CurlMulti> self(new CurlMulti(env.io()));
  const int epoll_fd = epoll_create1(EPOLL_CLOEXEC);
  if (epoll_fd < 0) return Error{"epoll_create1: " + std::system_category().message(errno)};
  std::error_code ec;
  if (self->epoll_.assign(epoll_fd, ec); ec) {
    ::close(epoll_fd);
    return Error{"watching the epoll set: " + ec.message()};
  }
  self->multi_ = curl_multi_init();
  if (!self->multi_) return Error{"curl_multi_init failed"};
  curl_multi_setopt(self->multi_, CURLMOPT_SOCKETFUNCTION, &CurlMulti::on_socket);
  curl_multi_setopt(self->multi_, CURLMOPT_SOCKETDATA, self.get());
  curl_multi_setopt(self->multi_, CURLMOPT_TIMERFUNCTION, &CurlMulti::on_timer);
  curl_multi_setopt(self->multi_, CURLMOPT_TIMERDATA, self.get());
  return self;
}

CurlMulti::~CurlMulti() {
  // Probes hold the multi alive while they own an attached handle, so only
  // pooled (detached) handles are left here.
  for (CURL* easy : pool_)
    curl_easy_cleanup(easy);
  if (multi_) curl_multi_cleanup(multi_);
  std::error_code ignored;
  timer_.cancel();
  epoll_.close(ignored);
}

CURL* CurlMulti::acquire() {
  if (pool_.empty()) return curl_easy_init();
  CURL* easy = pool_.back();
  pool_.pop_back();
  return easy;
}

CURLMcode CurlMulti::start(CURL* easy, Transfer& transfer) {
  curl_easy_setopt(easy, CURLOPT_PRIVATE, static_cast<void*>(&transfer));
  const CURLMcode code = curl_multi_add_handle(multi_, easy);
  if (code != CURLM_OK) {
    curl_easy_setopt(easy, CURLOPT_PRIVATE, nullptr);
    return code;
  }
  ++attached_;
  wait_for_events();
  return CURLM_OK;
}

void CurlMulti::release(CURL* easy) {
  if (!easy) return;
  char* transfer = nullptr;
  curl_easy_getinfo(easy, CURLINFO_PRIVATE, &transfer);
  if (transfer) {
    curl_multi_remove_handle(multi_, easy);
    // An idle multi leaves no wait pending, so the loop can run dry.
    if (--attached_ == 0 && epoll_waiting_) {
      epoll_waiting_ = false;
      epoll_.cancel();
    }
  }
  curl_easy_reset(easy);  // also clears CURLOPT_PRIVATE and every pointer into the run
  if (pool_.size() < kMaxPooledHandles) {
    pool_.push_back(easy);
  } else {
    curl_easy_cleanup(easy);
  }
}

int CurlMulti::on_socket(CURL* easy, curl_socket_t fd, int what, void* self, void* socket_state) {
  static_cast<CurlMulti*>(self)->watch(fd, what, socket_state);
  if (what & CURL_POLL_IN) {
    char* transfer = nullptr;
    curl_easy_getinfo(easy, CURLINFO_PRIVATE, &transfer);
    if (transfer) static_cast<Transfer*>(static_cast<void*>(transfer))->on_connected();
  }
  return 0;
}

int CurlMulti::on_timer(CURLM*, long timeout_ms, void* self) {
  static_cast<CurlMulti*>(self)->schedule_timeout(timeout_ms);
  return 0;
}

void CurlMulti::watch(curl_socket_t fd, int what, void* socket_state) {
  if (what == CURL_POLL_REMOVE) {
    // curl tells us before it closes the socket; a socket it already closed
    // has left the epoll set by itself.
    if (socket_state) epoll_ctl(epoll_.native_handle(), EPOLL_CTL_DEL, fd, nullptr);
    return;
  }
  epoll_event event{};
  event.events = ((what & CURL_POLL_IN) ? EPOLLIN : 0u) | ((what & CURL_POLL_OUT) ? EPOLLOUT : 0u);
  event.data.fd = fd;
  if (socket_state) {
    epoll_ctl(epoll_.native_handle(), EPOLL_CTL_MOD, fd, &event);
    return;
  }
  if (epoll_ctl(epoll_.native_handle(), EPOLL_CTL_ADD, fd, &event) != 0 && errno == EEXIST) {
    epoll_ctl(epoll_.native_handle(), EPOLL_CTL_MOD, fd, &event);
  }
  // Any non-null pointer marks the socket as being in the epoll set.
  curl_multi_assign(multi_, fd, this);
}

void CurlMulti::schedule_timeout(long timeout_ms) {
  if (timeout_ms < 0) {
    deadline_.reset();
    if (timer_waiting_) {
      timer_waiting_ = false;
      timer_.cancel();  // nothing left to time: leave no wait pending
    }
    return;
  }
  if (timeout_ms == 0) {
    // "Act now" (every new transfer starts so): a post costs no timerfd update.
    deadline_.reset();
    if (timeout_posted_) return;
    timeout_posted_ = true;
    asio::post(io_, [weak = weak_from_this()] {
      if (const auto self = weak.lock()) {
        self->timeout_posted_ = false;
        self->run_timeout();
      }
    });
    return;
  }
  const auto when = asio::steady_timer::clock_type::now() + std::chrono::milliseconds(timeout_ms);
  deadline_ = when;
  // curl moves its deadline often; re-arm only when it comes earlier.
  if (timer_waiting_ && timer_.expiry() <= when) return;
  timer_.expires_at(when);
  timer_waiting_ = true;
  timer_.async_wait([weak = weak_from_this()](const std::error_code& ec) {
    if (ec == asio::error::operation_aborted) return;
    if (const auto self = weak.lock()) self->timer_fired();
  });
}

void CurlMulti::timer_fired() {
  timer_waiting_ = false;
  if (!deadline_) return;
  if (asio::steady_timer::clock_type::now() < *deadline_) {
    const auto when = *deadline_;
    deadline_.reset();
    schedule_timeout(
        std::chrono::ceil<std::chrono::milliseconds>(when - asio::steady_timer::clock_type::now())
            .count());
    return;
  }
  deadline_.reset();
  run_timeout();
}

void CurlMulti::run_timeout() {
  const auto keep_alive = shared_from_this();
  int running = 0;
  curl_multi_socket_action(multi_, CURL_SOCKET_TIMEOUT, 0, &running);
  deliver_completed();
}

void CurlMulti::wait_for_events() {
  if (epoll_waiting_ || poll_posted_) return;
  epoll_waiting_ = true;
  epoll_.async_wait(asio::posix::stream_descriptor::wait_read,
                    [weak = weak_from_this()](const std::error_code& ec) {
                      if (ec == asio::error::operation_aborted) return;
                      const auto self = weak.lock();
                      if (!self) return;
                      self->epoll_waiting_ = false;
                      if (!ec) self->poll_events();
                    });
}

void CurlMulti::poll_events() {
  const auto keep_alive = shared_from_this();  // a completion may drop the last run
  const int count =
      epoll_wait(epoll_.native_handle(), events_.data(), static_cast<int>(events_.size()), 0);
  for (int i = 0; i < count; ++i) {
    const std::uint32_t ready = events_[static_cast<std::size_t>(i)].events;
    int flags = 0;
    if (ready & EPOLLIN) flags |= CURL_CSELECT_IN;
    if (ready & EPOLLOUT) flags |= CURL_CSELECT_OUT;
    if (ready & (EPOLLERR | EPOLLHUP)) flags |= CURL_CSELECT_ERR;
    int running = 0;
    curl_multi_socket_action(multi_, events_[static_cast<std::size_t>(i)].data.fd, flags, &running);
  }
  deliver_completed();
  if (count > 0) {
    // Level-triggered: anything curl left unread shows up again next round.
    poll_posted_ = true;
    asio::post(io_, [weak = weak_from_this()] {
      if (const auto self = weak.lock()) {
        self->poll_posted_ = false;
        self->poll_events();
      }
    });
    return;
  }
  if (attached_ > 0) wait_for_events();
}

void CurlMulti::deliver_completed() {
  int queued = 0;
  while (CURLMsg* message = curl_multi_info_read(multi_, &queued)) {
    if (message->msg != CURLMSG_DONE) continue;
    CURL* easy = message->easy_handle;
    const CURLcode result = message->data.result;
    char* transfer = nullptr;
    curl_easy_getinfo(easy, CURLINFO_PRIVATE, &transfer);
    if (transfer) static_cast<Transfer*>(static_cast<void*>(transfer))->on_transfer_done(result);
  }
}

}  // namespace netmon::checks

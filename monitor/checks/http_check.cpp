#include "monitor/checks/http_check.hpp"

#include <curl/curl.h>
#include <sys/socket.h>

#include <algorithm>
#include <asio/error.hpp>
#include <cstdio>
#include <ctime>
#include <optional>

#include "monitor/checks/net/curl_multi.hpp"
#include "monitor/checks/net/socket_errors.hpp"
#include "monitor/checks/params/http_params.hpp"

namespace netmon::checks {
namespace {

// Body bytes kept for body_contains / body_not_contains; the rest is counted, not kept.
constexpr std::size_t kMaxBodyBytes = 1024 * 1024;
// OpenSSL's X509_V_ERR_CERT_HAS_EXPIRED, as curl reports it in CURLINFO_SSL_VERIFYRESULT.
constexpr long kX509CertHasExpired = 10;
constexpr const char* kUserAgent = "netmon/0.1";

struct SlistFree {
  void operator()(curl_slist* list) const { curl_slist_free_all(list); }
};
using Slist = std::unique_ptr<curl_slist, SlistFree>;

// The parameters plus the header lines as the list curl takes, made once per check.
struct HttpConfig : HttpParams {
  Slist header_list;
};

// "Nov 21 04:43:25 2026 GMT" (OpenSSL's ASN1_TIME_print, as curl's certinfo gives it).
std::optional<std::chrono::system_clock::time_point> parse_cert_time(const char* text) {
  static constexpr std::string_view kMonths = "JanFebMarAprMayJunJulAugSepOctNovDec";
  char month[4] = {};
  std::tm tm{};
  if (std::sscanf(text, "%3s %d %d:%d:%d %d", month, &tm.tm_mday, &tm.tm_hour, &tm.tm_min,
                  &tm.tm_sec, &tm.tm_year) != 6) {
    return std::nullopt;
  }
  const std::size_t at = kMonths.find(month);
  if (at == std::string_view::npos || at % 3 != 0) return std::nullopt;
  tm.tm_mon = static_cast<int>(at / 3);
  tm.tm_year -= 1900;
  const std::time_t seconds = timegm(&tm);
  if (seconds == -1) return std::nullopt;
  return std::chrono::system_clock::from_time_t(seconds);
}

std::string_view http_version_name(long version) {
  switch (version) {
    case CURL_HTTP_VERSION_1_0:
      return "1.0";
    case CURL_HTTP_VERSION_1_1:
      return "1.1";
    case CURL_HTTP_VERSION_2_0:
      return "2";
    case CURL_HTTP_VERSION_3:
      return "3";
    default:
      return "";
  }
}

// The reason token for a transfer that curl ended with `code`.
std::string reason_for_curl(CURLcode code, long os_errno, long verify_result) {
  switch (code) {
    case CURLE_COULDNT_RESOLVE_HOST:
      return "resolve_failed";
    case CURLE_COULDNT_CONNECT: {
      const std::string reason = reason_for(
          std::error_code(static_cast<int>(os_errno), asio::error::get_system_category()),
          "connect");
      return reason == "connect_timeout" ? "connect_failed" : reason;
    }
    case CURLE_PEER_FAILED_VERIFICATION:
      return verify_result == kX509CertHasExpired ? "cert_expired" : "cert_invalid";
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_ENGINE_NOTFOUND:
    case CURLE_SSL_ENGINE_SETFAILED:
    case CURLE_SSL_SHUTDOWN_FAILED:
    case CURLE_SSL_CRL_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
    case CURLE_USE_SSL_FAILED:
      return "tls_failed";
    case CURLE_TOO_MANY_REDIRECTS:
      return "too_many_redirects";
    case CURLE_WEIRD_SERVER_REPLY:
    case CURLE_UNSUPPORTED_PROTOCOL:  // HTTP/0.9 (no status line) is refused
    case CURLE_GOT_NOTHING:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
      return "bad_reply";
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
      return os_errno == ECONNRESET ? "connection_reset" : "transfer_failed";
    default:
      return "transfer_failed";
  }
}

// netmon itself could not run the transfer (memory, descriptors, a CA file it cannot read).
bool is_local_curl_failure(CURLcode code, long os_errno) {
  if (code == CURLE_OUT_OF_MEMORY || code == CURLE_FAILED_INIT ||
      code == CURLE_SSL_CACERT_BADFILE) {
    return true;
  }
  return code == CURLE_COULDNT_CONNECT &&
         is_local_failure(
             std::error_code(static_cast<int>(os_errno), asio::error::get_system_category()));
}

class HttpRun final : public CheckRun, public CurlMulti::Transfer {
 public:
  HttpRun(CheckRunEnv& env, std::shared_ptr<const HttpConfig> config)
      : CheckRun(env), config_(std::move(config)) {}

  ~HttpRun() override { release_handle(); }

 private:
  void on_start() override {
    auto multi = env_.open_shared<CurlMulti>();
    if (!multi) {
      finish(failure("curl_unavailable", multi.error().message));
      return;
    }
    multi_ = std::move(multi).value();
    if (config_->host_is_literal) {
      mark(Phase::kResolve);
      start_transfer();
      return;
    }
    env_.resolver().resolve(config_->host, IpFamily::kAny,
                            [self = self<HttpRun>()](Expected<HostResolver::Addresses> answer) {
                              self->on_resolved(std::move(answer));
                            });
  }

  void on_cancel() override { release_handle(); }

  void on_resolved(Expected<HostResolver::Addresses> answer) {
    if (done()) return;
    mark(Phase::kResolve);
    if (!answer) {
      finish(down("resolve_failed", answer.error().message));
      return;
    }
    // Hand our answer to curl so it never runs its own (threaded) resolver.
    std::string entry = config_->host + ":" + std::to_string(config_->port) + ":";
    for (std::size_t i = 0; i < answer->size(); ++i) {
      const asio::ip::address& address = (*answer)[i];
      if (i > 0) entry += ',';
      entry += address.is_v6() ? "[" + address.to_string() + "]" : address.to_string();
    }
    resolve_.reset(curl_slist_append(nullptr, entry.c_str()));
    start_transfer();
  }

  void start_transfer() {
    easy_ = multi_->acquire();
    if (!easy_) {
      finish(failure("curl_failed", "could not create a curl handle"));
      return;
    }
    configure(easy_);
    if (const CURLMcode code = multi_->start(easy_, *this); code != CURLM_OK) {
      release_handle();
      finish(failure("curl_failed", curl_multi_strerror(code)));
    }
  }

  void configure(CURL* easy) {
    const HttpConfig& config = *config_;
    error_[0] = '\0';
    curl_easy_setopt(easy, CURLOPT_URL, config.url.c_str());
    curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(easy, CURLOPT_FRESH_CONNECT, 1L);  // a new connection every run,
    curl_easy_setopt(easy, CURLOPT_FORBID_REUSE, 1L);   // so connect time is measured
    curl_easy_setopt(easy, CURLOPT_PROXY, "");          // never a proxy from the environment
    curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(easy, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(easy, CURLOPT_USERAGENT, kUserAgent);
    curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, error_);
    curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, &HttpRun::on_body);
    curl_easy_setopt(easy, CURLOPT_WRITEDATA, this);
    curl_easy_setopt(easy, CURLOPT_HEADERFUNCTION, &HttpRun::on_header);
    curl_easy_setopt(easy, CURLOPT_HEADERDATA, this);
    curl_easy_setopt(easy, CURLOPT_PREREQFUNCTION, &HttpRun::on_prereq);
    curl_easy_setopt(easy, CURLOPT_PREREQDATA, this);
    curl_easy_setopt(easy, CURLOPT_SOCKOPTFUNCTION, &HttpRun::on_sockopt);
    if (config.header_list) curl_easy_setopt(easy, CURLOPT_HTTPHEADER, config.header_list.get());
    if (resolve_) curl_easy_setopt(easy, CURLOPT_RESOLVE, resolve_.get());
    if (config.method == "HEAD") {
      curl_easy_setopt(easy, CURLOPT_NOBODY, 1L);
    } else if (config.method == "POST") {
      curl_easy_setopt(easy, CURLOPT_POSTFIELDS, "");
      curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE, 0L);
    } else if (config.method != "GET") {
      curl_easy_setopt(easy, CURLOPT_CUSTOMREQUEST, config.method.c_str());
    }
    if (config.follow_redirects) {
      curl_easy_setopt(easy, CURLOPT_FOLLOWLOCATION, 1L);
      curl_easy_setopt(easy, CURLOPT_MAXREDIRS, config.max_redirects);
    }
    if (config.may_use_tls()) {
      curl_easy_setopt(easy, CURLOPT_SSL_VERIFYPEER, config.verify_tls ? 1L : 0L);
      curl_easy_setopt(easy, CURLOPT_SSL_VERIFYHOST, config.verify_tls ? 2L : 0L);
      if (!config.ca_file.empty()) curl_easy_setopt(easy, CURLOPT_CAINFO, config.ca_file.c_str());
      curl_easy_setopt(easy, CURLOPT_CERTINFO, 1L);
      // A resumed session skips the handshake (and TLS 1.3 then sends no certificate).
      curl_easy_setopt(easy, CURLOPT_SSL_SESSIONID_CACHE, 0L);
    }
  }

  static size_t on_body(char* data, size_t size, size_t count, void* self) {
    auto* run = static_cast<HttpRun*>(self);
    const size_t bytes = size * count;
    if (run->config_->keeps_body() && run->body_.size() < kMaxBodyBytes) {
      run->body_.append(data, std::min(bytes, kMaxBodyBytes - run->body_.size()));
    }
    return bytes;
  }

  static size_t on_header(char*, size_t size, size_t count, void* self) {
    auto* run = static_cast<HttpRun*>(self);
    if (!run->got_header_) {
      run->got_header_ = true;
      run->mark(Phase::kFirstByte);
    }
    return size * count;
  }

  // Called once connected (and through TLS), right before the request goes out:
  // records connect and tls as they happen, so a run that times out later still shows them.
  static int on_prereq(void* self, char*, char*, int, int) {
    static_cast<HttpRun*>(self)->mark_connected();
    return CURL_PREREQFUNC_OK;
  }

  // Abortive close: no TIME_WAIT left behind per run on the monitor host.
  static int on_sockopt(void*, curl_socket_t fd, curlsocktype purpose) {
    if (purpose == CURLSOCKTYPE_IPCXN) {
      const linger abortive{1, 0};
      setsockopt(fd, SOL_SOCKET, SO_LINGER, &abortive, sizeof abortive);
    }
    return CURL_SOCKOPT_OK;
  }

  // curl's times count from when it started the transfer; `curl_now` is what
  // curl's clock reads now, which places them on the run's clock.
  void mark_from_curl(curl_off_t curl_now, curl_off_t connect_us, curl_off_t tls_us,
                      curl_off_t first_byte_us) {
    const auto offset =
        std::max(elapsed() - std::chrono::microseconds(curl_now), std::chrono::microseconds(0));
    if (connect_us > 0) mark(Phase::kConnect, offset + std::chrono::microseconds(connect_us));
    if (tls_us > 0) mark(Phase::kTls, offset + std::chrono::microseconds(tls_us));
    if (first_byte_us > 0) {
      mark(Phase::kFirstByte, offset + std::chrono::microseconds(first_byte_us));
    }
  }

  // curl waits for input on the connection: the TCP connect is done. (For
  // https this comes before the handshake ends and before on_prereq.)
  void on_connected() override {
    if (timings().connect) return;
    mark(Phase::kConnect);
  }

  void mark_connected() {
    curl_off_t connect_us = 0;
    curl_off_t tls_us = 0;
    curl_easy_getinfo(easy_, CURLINFO_CONNECT_TIME_T, &connect_us);
    curl_easy_getinfo(easy_, CURLINFO_APPCONNECT_TIME_T, &tls_us);
    mark_from_curl(std::max(connect_us, tls_us), connect_us, tls_us, 0);
  }

  void on_transfer_done(CURLcode code) override {
    if (done()) return;
    CURL* easy = easy_;
    long status = 0;
    long version = 0;
    long redirects = 0;
    long os_errno = 0;
    long verify_result = 0;
    curl_off_t bytes = 0;
    curl_off_t connect_us = 0;
    curl_off_t tls_us = 0;
    curl_off_t first_byte_us = 0;
    curl_off_t total_us = 0;
    char* effective_url = nullptr;
    curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_getinfo(easy, CURLINFO_HTTP_VERSION, &version);
    curl_easy_getinfo(easy, CURLINFO_REDIRECT_COUNT, &redirects);
    curl_easy_getinfo(easy, CURLINFO_OS_ERRNO, &os_errno);
    curl_easy_getinfo(easy, CURLINFO_SIZE_DOWNLOAD_T, &bytes);
    curl_easy_getinfo(easy, CURLINFO_CONNECT_TIME_T, &connect_us);
    curl_easy_getinfo(easy, CURLINFO_APPCONNECT_TIME_T, &tls_us);
    curl_easy_getinfo(easy, CURLINFO_STARTTRANSFER_TIME_T, &first_byte_us);
    curl_easy_getinfo(easy, CURLINFO_TOTAL_TIME_T, &total_us);
    curl_easy_getinfo(easy, CURLINFO_EFFECTIVE_URL, &effective_url);
    mark_from_curl(total_us, connect_us, tls_us, first_byte_us);

    nlohmann::json details = nlohmann::json::object();
    if (status > 0) {
      details["status_code"] = status;
      details["bytes"] = bytes;
      details["http_version"] = http_version_name(version);
    }
    details["redirects"] = redirects;
    if (effective_url) details["effective_url"] = effective_url;

    std::optional<long> cert_days_left;
    if (code == CURLE_PEER_FAILED_VERIFICATION) {
      curl_easy_getinfo(easy, CURLINFO_SSL_VERIFYRESULT, &verify_result);
    }
    if (tls_us > 0) {
      if (const auto not_after = certificate_expiry(easy)) {
        cert_days_left =
            std::chrono::floor<std::chrono::days>(*not_after - std::chrono::system_clock::now())
                .count();
        details["cert_not_after"] = format_timestamp(*not_after);
        details["cert_days_left"] = *cert_days_left;
      }
    }
    const std::string curl_error = error_[0] ? error_ : curl_easy_strerror(code);
    release_handle();

    if (code != CURLE_OK) {
      if (is_local_curl_failure(code, os_errno)) {
        finish(failure(code == CURLE_SSL_CACERT_BADFILE ? "ca_file_unusable" : "curl_failed",
                       curl_error));
        return;
      }
      finish(down(reason_for_curl(code, os_errno, verify_result), curl_error, std::move(details)));
      return;
    }
    finish(verdict(status, cert_days_left, std::move(details)));
  }

  Outcome verdict(long status, std::optional<long> cert_days_left, nlohmann::json details) const {
    const HttpConfig& config = *config_;
    if (status < kMinHttpStatus || status > kMaxHttpStatus ||
        !config.expect_status.test(static_cast<std::size_t>(status))) {
      return down("status_mismatch",
                  "status " + std::to_string(status) + " is not in expect_status " +
                      config.expect_status_text,
                  std::move(details));
    }
    if (!config.body_contains.empty() && body_.find(config.body_contains) == std::string::npos) {
      return down("body_mismatch", "body does not contain '" + config.body_contains + "'",
                  std::move(details));
    }
    if (!config.body_not_contains.empty() &&
        body_.find(config.body_not_contains) != std::string::npos) {
      return down("body_forbidden", "body contains '" + config.body_not_contains + "'",
                  std::move(details));
    }
    if (config.min_cert_days > 0 && cert_days_left) {
      const std::string not_after = details.value("cert_not_after", std::string());
      if (*cert_days_left < 0) {
        return down("cert_expired", "certificate expired on " + not_after, std::move(details));
      }
      if (*cert_days_left < config.min_cert_days) {
        std::string error = "certificate expires in " + std::to_string(*cert_days_left) +
                            " days (" + not_after + "), below min_cert_days " +
                            std::to_string(config.min_cert_days);
        return down("cert_expiring", std::move(error), std::move(details));
      }
    }
    return up(std::move(details));
  }

  // The server certificate's notAfter, from curl's certinfo (first certificate of the chain).
  static std::optional<std::chrono::system_clock::time_point> certificate_expiry(CURL* easy) {
    curl_certinfo* info = nullptr;
    if (curl_easy_getinfo(easy, CURLINFO_CERTINFO, &info) != CURLE_OK || !info ||
        info->num_of_certs < 1) {
      return std::nullopt;
    }
    static constexpr std::string_view kExpire = "Expire date:";
    for (const curl_slist* item = info->certinfo[0]; item; item = item->next) {
      if (std::string_view(item->data).starts_with(kExpire)) {
        return parse_cert_time(item->data + kExpire.size());
      }
    }
    return std::nullopt;
  }

  void release_handle() {
    if (multi_) multi_->release(easy_);
    easy_ = nullptr;
  }

  std::shared_ptr<const HttpConfig> config_;
  std::shared_ptr<CurlMulti> multi_;
  CURL* easy_ = nullptr;
  Slist resolve_;
  std::string body_;
  bool got_header_ = false;
  char error_[CURL_ERROR_SIZE] = {};
};

std::string target_of(const HttpConfig& config) {
  return config.url;
}

using HttpCheck = TypedCheck<HttpConfig, HttpRun>;

}  // namespace

Expected<CheckPtr> parse_http_check(const CheckSpec& spec) {
  auto params = parse_http_params(spec);
  if (!params) return params.error();
  HttpConfig config{std::move(params).value(), nullptr};
  curl_slist* list = nullptr;
  for (const std::string& line : config.headers) {
    curl_slist* grown = curl_slist_append(list, line.c_str());
    if (!grown) {
      curl_slist_free_all(list);
      throw std::bad_alloc();
    }
    list = grown;
  }
  config.header_list.reset(list);
  return CheckPtr(std::make_shared<HttpCheck>(std::move(config)));
}

}  // namespace netmon::checks

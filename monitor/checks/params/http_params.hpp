#pragma once

#include <bitset>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "common/check_spec.hpp"
#include "common/expected.hpp"
#include "monitor/checks/params/param_info.hpp"

namespace netmon::checks {

inline constexpr int kMinHttpStatus = 100;
inline constexpr int kMaxHttpStatus = 599;

// http, https: one request to `url`; up when the status is expected and the
// body checks pass.
struct HttpParams {
  std::string url;
  std::string host;  // resolved by the engine's resolver unless it is an IP literal
  std::uint16_t port = 0;
  bool host_is_literal = false;
  bool https = false;
  std::string method = "GET";
  std::vector<std::string> headers;  // "Name: value" lines
  std::bitset<kMaxHttpStatus + 1> expect_status;
  std::string expect_status_text;
  std::string body_contains;
  std::string body_not_contains;
  bool follow_redirects = false;
  long max_redirects = 5;
  bool verify_tls = true;
  std::string ca_file;
  long min_cert_days = 0;

  bool keeps_body() const { return !body_contains.empty() || !body_not_contains.empty(); }
  // Redirects may lead from http to https, so certificate options apply then too.
  bool may_use_tls() const { return https || follow_redirects; }
};

Expected<HttpParams> parse_http_params(const CheckSpec& spec);
// The parameters parse_http_params reads (http and https alike).
std::span<const ParamInfo> http_param_info();

}  // namespace netmon::checks

#include "monitor/checks/params/http_params.hpp"

#include <algorithm>
#include <charconv>
#include <filesystem>
#include <optional>
#include <string_view>
#include <variant>

#include "common/param_reader.hpp"
#include "common/validate.hpp"

namespace netmon::checks {
namespace {

constexpr ParamInfo kHttpParamInfo[] = {
    {"url", true, "", "http:// URL for type http, https:// for type https"},
    {"method", false, "GET", "GET, HEAD, POST, PUT, DELETE, OPTIONS or PATCH"},
    {"headers", false, "", "extra request header 'Name: value' (repeat for more)"},
    {"expect_status", false, "200-399", "status codes or FROM-TO ranges that count as up"},
    {"body_contains", false, "", "text the body must contain"},
    {"body_not_contains", false, "", "text the body must not contain"},
    {"follow_redirects", false, "false", "follow Location redirects"},
    {"max_redirects", false, "5", "redirects followed at most, 0..50"},
    {"verify_tls", false, "true", "verify the certificate chain and host name"},
    {"ca_file", false, "", "PEM file of trusted certificates (default: the system store)"},
    {"min_cert_days", false, "0", "down when the certificate has fewer days left, 0..3650"},
};

constexpr long kMaxRedirectsLimit = 50;
constexpr long kMaxCertDays = 3650;
constexpr const char* kDefaultExpectStatus = "200-399";

std::string shown(std::string_view text) {
  std::string out;
  for (const char c : text) {
    if (c == '\r') {
      out += "\\r";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

bool is_token_char(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

std::optional<int> status_number(std::string_view text) {
  int value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc{} || end != text.data() + text.size()) return std::nullopt;
  return value;
}

// "Name: value" lines; a single string is one header (values may hold commas).
void read_headers(ParamReader& params, const CheckSpec& spec, HttpParams& config) {
  const auto it = spec.params.find("headers");
  const std::vector<std::string> lines =
      it != spec.params.end() && std::holds_alternative<std::string>(it->second)
          ? std::vector<std::string>{params.text("headers")}
          : params.list("headers");
  for (const std::string& line : lines) {
    const std::string entry = "headers entry '" + shown(line) + "'";
    if (line.find_first_of("\r\n") != std::string::npos) {
      params.fail(entry, "contains CR or LF (not allowed in a header)");
      break;
    }
    const std::size_t colon = line.find(':');
    if (colon == std::string::npos || colon == 0) {
      params.fail(entry, "is not 'Name: value'");
      break;
    }
    const std::string_view name = std::string_view(line).substr(0, colon);
    if (!std::all_of(name.begin(), name.end(), is_token_char)) {
      params.fail(entry, "has an invalid name '" + std::string(name) +
                             "' (letters, digits and !#$%&'*+-.^_`|~ only)");
      break;
    }
    config.headers.push_back(line);
  }
}

void read_expect_status(ParamReader& params, HttpParams& config) {
  const bool given = params.has("expect_status");
  const std::vector<std::string> items = params.list("expect_status");
  if (!given) {
    config.expect_status_text = kDefaultExpectStatus;
    for (int code = 200; code <= 399; ++code)
      config.expect_status.set(static_cast<std::size_t>(code));
    return;
  }
  if (items.empty()) {
    params.fail("expect_status", "is empty (give codes or ranges, e.g. 200, 300-399)");
    return;
  }
  const std::string range =
      " (allowed: " + std::to_string(kMinHttpStatus) + ".." + std::to_string(kMaxHttpStatus) + ")";
  for (const std::string& item : items) {
    const std::string field = "expect_status '" + item + "'";
    const std::size_t dash = item.find('-');
    const auto from = status_number(std::string_view(item).substr(0, dash));
    const auto to =
        dash == std::string::npos ? from : status_number(std::string_view(item).substr(dash + 1));
    if (!from || !to) {
      params.fail(field, "is not a status code or range (e.g. 200, 300-399)");
      return;
    }
    if (*from < kMinHttpStatus || *from > kMaxHttpStatus || *to < kMinHttpStatus ||
        *to > kMaxHttpStatus) {
      params.fail(field, "is out of range" + range);
      return;
    }
    if (*from > *to) {
      params.fail(field, "is a reversed range (write " + std::to_string(*to) + "-" +
                             std::to_string(*from) + ")");
      return;
    }
    for (int code = *from; code <= *to; ++code)
      config.expect_status.set(static_cast<std::size_t>(code));
    if (!config.expect_status_text.empty()) config.expect_status_text += ",";
    config.expect_status_text += item;
  }
}

}  // namespace

Expected<HttpParams> parse_http_params(const CheckSpec& spec) {
  ParamReader params(spec);
  HttpParams config;
  const UrlParts url = params.url("url");
  if (!params.failed()) {
    config.url = params.text("url");
    config.host = url.host;
    config.port = url.port;
    config.host_is_literal = is_ip_literal(url.host);
    config.https = url.scheme == "https";
    if (url.scheme != spec.type) {
      params.fail("url '" + config.url + "'",
                  "has scheme '" + url.scheme + "' but the check type is '" + spec.type +
                      "' (use an " + spec.type + ":// URL, or type " + url.scheme + ")");
    }
  }
  config.method =
      params.choice("method", {"GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH"}, "GET");
  read_headers(params, spec, config);
  read_expect_status(params, config);
  config.body_contains = params.payload("body_contains");
  config.body_not_contains = params.payload("body_not_contains");
  if (config.method == "HEAD" && config.keeps_body()) {
    params.fail(config.body_contains.empty() ? "body_not_contains" : "body_contains",
                "cannot be used with method HEAD (a HEAD reply has no body)");
  }
  config.follow_redirects = params.flag("follow_redirects", false);
  config.max_redirects =
      static_cast<long>(params.integer("max_redirects", 0, kMaxRedirectsLimit, 5));
  config.verify_tls = params.flag("verify_tls", true);
  config.ca_file = params.text("ca_file");
  if (params.has("ca_file")) {
    std::error_code ec;
    if (!params.failed() && !std::filesystem::is_regular_file(config.ca_file, ec)) {
      params.fail("ca_file '" + config.ca_file + "'",
                  "does not exist or is not a file (give a PEM file of trusted certificates)");
    }
  }
  config.min_cert_days = static_cast<long>(params.integer("min_cert_days", 0, kMaxCertDays, 0));
  if (auto ok = params.finish(); !ok) return ok.error();
  return config;
}

std::span<const ParamInfo> http_param_info() {
  return kHttpParamInfo;
}

}  // namespace netmon::checks

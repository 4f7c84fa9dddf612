#include "common/validate.hpp"

#include <arpa/inet.h>

#include <charconv>

namespace netmon {
namespace {

bool is_alnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

bool labels_valid(std::string_view text, bool allow_underscore) {
  if (text.empty() || text.size() > 254) return false;
  if (text.back() == '.') text.remove_suffix(1);
  if (text.empty() || text.size() > 253) return false;
  std::size_t start = 0;
  while (start <= text.size()) {
    std::size_t end = text.find('.', start);
    if (end == std::string_view::npos) end = text.size();
    const std::string_view label = text.substr(start, end - start);
    if (label.empty() || label.size() > 63) return false;
    if (label.front() == '-' || label.back() == '-') return false;
    for (const char c : label) {
      if (!is_alnum(c) && c != '-' && !(allow_underscore && c == '_')) return false;
    }
    start = end + 1;
  }
  return true;
}

}  // namespace

bool is_ip_literal(std::string_view text) {
  if (text.empty() || text.size() >= INET6_ADDRSTRLEN) return false;
  const std::string copy(text);
  unsigned char buffer[sizeof(struct in6_addr)];
  return inet_pton(AF_INET, copy.c_str(), buffer) == 1 ||
         inet_pton(AF_INET6, copy.c_str(), buffer) == 1;
}

bool is_hostname(std::string_view text) {
  return labels_valid(text, false);
}

bool is_dns_name(std::string_view text) {
  return text == "." || labels_valid(text, true);
}

Expected<UrlParts> parse_url(std::string_view text) {
  const auto bad = [&](std::string_view why) {
    return Error{"url '" + std::string(text) + "' " + std::string(why)};
  };
  for (const char c : text) {
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) {
      return bad("contains a space or control character (percent-encode it)");
    }
  }
  UrlParts parts;
  const std::size_t scheme_end = text.find("://");
  if (scheme_end == std::string_view::npos) return bad("has no scheme (use http:// or https://)");
  parts.scheme = std::string(text.substr(0, scheme_end));
  for (char& c : parts.scheme)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (parts.scheme != "http" && parts.scheme != "https") {
    return bad("has scheme '" + parts.scheme + "' (allowed: http, https)");
  }
  std::string_view rest = text.substr(scheme_end + 3);
  const std::size_t path_at = rest.find_first_of("/?#");
  std::string_view authority = rest.substr(0, path_at);
  parts.path = path_at == std::string_view::npos ? "/" : std::string(rest.substr(path_at));
  if (parts.path.front() != '/') parts.path.insert(0, "/");
  if (const std::size_t at = authority.rfind('@'); at != std::string_view::npos) {
    authority.remove_prefix(at + 1);
  }
  std::string_view port_text;
  if (!authority.empty() && authority.front() == '[') {
    const std::size_t close = authority.find(']');
    if (close == std::string_view::npos) return bad("has an unclosed '[' in the host");
    parts.host = std::string(authority.substr(1, close - 1));
    const std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return bad("has junk after the IPv6 host");
      port_text = after.substr(1);
    }
    if (!is_ip_literal(parts.host)) return bad("has an invalid IPv6 address");
  } else {
    const std::size_t colon = authority.find(':');
    parts.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) port_text = authority.substr(colon + 1);
    if (!is_ip_literal(parts.host) && !is_hostname(parts.host)) {
      return bad("has an invalid host '" + parts.host + "'");
    }
  }
  if (parts.host.empty()) return bad("has no host");
  parts.port = parts.scheme == "https" ? 443 : 80;
  if (!port_text.empty()) {
    unsigned value = 0;
    const auto [end, ec] =
        std::from_chars(port_text.data(), port_text.data() + port_text.size(), value);
    if (ec != std::errc{} || end != port_text.data() + port_text.size() || value < 1 ||
        value > 65535) {
      return bad("has port '" + std::string(port_text) + "' out of range 1..65535");
    }
    parts.port = static_cast<std::uint16_t>(value);
  }
  return parts;
}

Expected<std::string> decode_escapes(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '\\') {
      out.push_back(text[i]);
      continue;
    }
    if (++i == text.size()) return Error{"ends with a lone backslash"};
    switch (text[i]) {
      case 'r':
        out.push_back('\r');
        break;
      case 'n':
        out.push_back('\n');
        break;
      case 't':
        out.push_back('\t');
        break;
      case '0':
        out.push_back('\0');
        break;
      case '\\':
        out.push_back('\\');
        break;
      case 'x': {
        unsigned value = 0;
        if (i + 2 >= text.size()) return Error{"has a short \\x escape (use \\xHH)"};
        const auto [end, ec] = std::from_chars(text.data() + i + 1, text.data() + i + 3, value, 16);
        if (ec != std::errc{} || end != text.data() + i + 3) {
          return Error{"has a bad \\x escape (use \\xHH)"};
        }
        out.push_back(static_cast<char>(value));
        i += 2;
        break;
      }
      default:
        return Error{std::string("has unknown escape '\\") + text[i] +
                     "' (allowed: \\r \\n \\t \\0 \\\\ \\xHH)"};
    }
  }
  return out;
}

}  // namespace netmon

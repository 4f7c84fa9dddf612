#pragma once
// ICMP on the wire, without sockets: the message types netmon sends and
// reads, the internet checksum, building an echo request header and
// classifying what a socket read.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>

#include "monitor/checks/net/icmp_opening.hpp"

namespace netmon::checks {

constexpr std::uint8_t kEchoRequestV4 = 8;
constexpr std::uint8_t kEchoReplyV4 = 0;
constexpr std::uint8_t kUnreachableV4 = 3;
constexpr std::uint8_t kTimeExceededV4 = 11;
constexpr std::uint8_t kEchoRequestV6 = 128;
constexpr std::uint8_t kEchoReplyV6 = 129;
constexpr std::uint8_t kUnreachableV6 = 1;
constexpr std::uint8_t kTimeExceededV6 = 3;

std::uint16_t load16(const std::uint8_t* p);
// RFC 1071 over `size` bytes; 0 when `data` holds a valid checksum.
std::uint16_t internet_checksum(const std::uint8_t* data, std::size_t size);

// Writes the 8-byte echo request header at the front of `packet` (header and
// payload): type, identifier (already in network order), sequence, and the
// checksum where the kernel does not fill it (raw IPv4 sockets).
void write_echo_header(std::span<std::uint8_t> packet, bool v6, IcmpSocketKind kind,
                       std::uint16_t identifier_be, std::uint16_t seq);

// One received ICMP message that may answer an echo of ours: an echo reply,
// or an error quoting an echo request. Spans point into the received bytes.
struct IcmpMessage {
  enum class Kind : std::uint8_t { kEchoReply, kUnreachable, kTimeExceeded };
  Kind kind = Kind::kEchoReply;
  std::uint8_t type = 0;
  std::uint8_t code = 0;
  // kEchoReply: the reply (8-byte header, payload); errors: the quoted ICMP
  // message (at least its header when it is to match an echo).
  std::span<const std::uint8_t> icmp;
  // Errors: the quoted packet's destination address (4 or 16 bytes).
  std::span<const std::uint8_t> quoted_destination;
};

// Classifies what a socket of `kind` read (raw IPv4: with the IP header, whose
// checksum it verifies); nullopt for anything else, truncated or malformed.
std::optional<IcmpMessage> parse_icmp_message(std::span<const std::uint8_t> bytes, bool v6,
                                              IcmpSocketKind kind);

// "host unreachable", "time exceeded in transit", ... for an ICMP error.
std::string describe_icmp_error(bool v6, std::uint8_t type, std::uint8_t code);

}  // namespace netmon::checks

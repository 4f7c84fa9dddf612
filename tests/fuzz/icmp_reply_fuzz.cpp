// The ICMP receive decoder (raw IPv4 header and checksum, echo replies,
// unreachable / time-exceeded errors quoting our echo) on hostile packets.
// The first byte picks the socket: bit 0 IPv6, bit 1 raw; the rest is what
// the socket read.

#include <cstdint>
#include <span>

#include "monitor/checks/net/icmp_socket.hpp"
#include "tests/fuzz/fuzz_support.hpp"

using namespace netmon;

namespace {

bool inside(std::span<const std::uint8_t> part, std::span<const std::uint8_t> whole) {
  return part.empty() ||
         (part.data() >= whole.data() && part.data() + part.size() <= whole.data() + whole.size());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const bool v6 = data[0] & 1;
  const auto kind = data[0] & 2 ? checks::IcmpSocketKind::kRaw : checks::IcmpSocketKind::kDatagram;
  const std::span<const std::uint8_t> packet(data + 1, size - 1);
  const auto message = checks::parse_icmp_message(packet, v6, kind);
  if (!message) return 0;
  fuzz::require(inside(message->icmp, packet), "the ICMP span lies inside the packet");
  fuzz::require(inside(message->quoted_destination, packet),
                "the quoted destination lies inside the packet");
  if (message->kind == checks::IcmpMessage::Kind::kEchoReply) {
    fuzz::require(message->icmp.size() >= 8, "an echo reply has its 8-byte header");
  } else {
    fuzz::require(kind == checks::IcmpSocketKind::kRaw, "only raw sockets read ICMP errors");
    fuzz::require(message->quoted_destination.size() == (v6 ? 16u : 4u),
                  "the quoted destination is one address");
    (void)checks::describe_icmp_error(v6, message->type, message->code);
  }
  return 0;
}

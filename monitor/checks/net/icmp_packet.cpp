#include "monitor/checks/net/icmp_packet.hpp"

#include <netinet/in.h>

#include <cstring>

namespace netmon::checks {

std::uint16_t load16(const std::uint8_t* p) {
  return static_cast<std::uint16_t>((p[0] << 8) | p[1]);
}

std::uint16_t internet_checksum(const std::uint8_t* data, std::size_t size) {
  std::uint64_t sum = 0;
  std::size_t i = 0;
  for (; i + 1 < size; i += 2)
    sum += load16(data + i);
  if (i < size) sum += static_cast<std::uint64_t>(data[i]) << 8;
  while (sum >> 16)
    sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<std::uint16_t>(~sum & 0xffff);
}

void write_echo_header(std::span<std::uint8_t> packet, bool v6, IcmpSocketKind kind,
                       std::uint16_t identifier_be, std::uint16_t seq) {
  std::uint8_t* header = packet.data();
  header[0] = v6 ? kEchoRequestV6 : kEchoRequestV4;
  header[1] = 0;
  header[2] = header[3] = 0;
  std::memcpy(header + 4, &identifier_be, 2);
  header[6] = static_cast<std::uint8_t>(seq >> 8);
  header[7] = static_cast<std::uint8_t>(seq & 0xff);
  if (!v6 && kind == IcmpSocketKind::kRaw) {
    // The kernel fills the checksum for datagram and ICMPv6 sockets, not for raw IPv4.
    const std::uint16_t sum = internet_checksum(header, packet.size());
    header[2] = static_cast<std::uint8_t>(sum >> 8);
    header[3] = static_cast<std::uint8_t>(sum & 0xff);
  }
}

std::optional<IcmpMessage> parse_icmp_message(std::span<const std::uint8_t> bytes, bool v6,
                                              IcmpSocketKind kind) {
  const std::uint8_t* data = bytes.data();
  std::size_t size = bytes.size();
  const std::uint8_t* icmp = data;
  if (!v6 && kind == IcmpSocketKind::kRaw) {
    // Raw IPv4 sockets deliver the IP header too.
    if (size < 20 || (data[0] >> 4) != 4) return std::nullopt;
    const std::size_t header = static_cast<std::size_t>(data[0] & 0x0f) * 4;
    if (header < 20 || size < header) return std::nullopt;
    icmp += header;
    size -= header;
    // The kernel checks ICMP checksums only after handing raw sockets their copy.
    if (size >= 8 && internet_checksum(icmp, size) != 0) return std::nullopt;
  }
  if (size < 8) return std::nullopt;
  const std::uint8_t type = icmp[0];
  if (type == (v6 ? kEchoReplyV6 : kEchoReplyV4)) {
    return IcmpMessage{IcmpMessage::Kind::kEchoReply, type, icmp[1], {icmp, size}, {}};
  }
  // Datagram sockets deliver ICMP errors through the error queue, not here.
  if (kind != IcmpSocketKind::kRaw) return std::nullopt;
  const std::uint8_t* inner = icmp + 8;
  const std::size_t inner_size = size - 8;
  if (!v6 && (type == kUnreachableV4 || type == kTimeExceededV4) && inner_size >= 20 &&
      (inner[0] >> 4) == 4 && inner[9] == IPPROTO_ICMP) {
    const std::size_t header = static_cast<std::size_t>(inner[0] & 0x0f) * 4;
    if (header >= 20 && inner_size >= header) {
      return IcmpMessage{type == kUnreachableV4 ? IcmpMessage::Kind::kUnreachable
                                                : IcmpMessage::Kind::kTimeExceeded,
                         type,
                         icmp[1],
                         {inner + header, inner_size - header},
                         {inner + 16, 4}};
    }
  }
  if (v6 && (type == kUnreachableV6 || type == kTimeExceededV6) && inner_size >= 40 &&
      (inner[0] >> 4) == 6 && inner[6] == IPPROTO_ICMPV6) {
    return IcmpMessage{
        type == kUnreachableV6 ? IcmpMessage::Kind::kUnreachable : IcmpMessage::Kind::kTimeExceeded,
        type,
        icmp[1],
        {inner + 40, inner_size - 40},
        {inner + 24, 16}};
  }
  return std::nullopt;
}

std::string describe_icmp_error(bool v6, std::uint8_t type, std::uint8_t code) {
  if (!v6 && type == kTimeExceededV4) return "time exceeded in transit";
  if (v6 && type == kTimeExceededV6) return "hop limit exceeded in transit";
  if (!v6 && type == kUnreachableV4) {
    switch (code) {
      case 0:
        return "network unreachable";
      case 1:
        return "host unreachable";
      case 2:
        return "protocol unreachable";
      case 3:
        return "port unreachable";
      case 4:
        return "fragmentation needed";
      case 5:
        return "source route failed";
      case 6:
        return "destination network unknown";
      case 7:
        return "destination host unknown";
      case 9:
        return "network administratively prohibited";
      case 10:
        return "host administratively prohibited";
      case 13:
        return "communication administratively prohibited";
      default:
        break;
    }
  }
  if (v6 && type == kUnreachableV6) {
    switch (code) {
      case 0:
        return "no route to destination";
      case 1:
        return "communication administratively prohibited";
      case 2:
        return "beyond scope of source address";
      case 3:
        return "address unreachable";
      case 4:
        return "port unreachable";
      case 5:
        return "source address failed policy";
      case 6:
        return "reject route to destination";
      default:
        break;
    }
  }
  return "ICMP" + std::string(v6 ? "v6" : "") + " type " + std::to_string(type) + " code " +
         std::to_string(code);
}

}  // namespace netmon::checks

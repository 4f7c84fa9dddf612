#include "monitor/checks/net/icmp_packet.hpp"

#include <gtest/gtest.h>

#include <vector>

namespace netmon {
namespace {

using checks::IcmpSocketKind;

using Bytes = std::vector<std::uint8_t>;

// Sized copies instead of vector::insert, which trips GCC 12's -Warray-bounds here.
Bytes concat(const Bytes& front, const Bytes& back) {
  Bytes out(front.size() + back.size());
  std::copy(front.begin(), front.end(), out.begin());
  std::copy(back.begin(), back.end(), out.begin() + static_cast<std::ptrdiff_t>(front.size()));
  return out;
}

// A raw IPv4 socket's view of an ICMP message: IP header, then the message
// with its checksum filled in.
Bytes raw_ipv4(Bytes icmp) {
  std::uint32_t sum = 0;
  for (std::size_t i = 0; i + 1 < icmp.size(); i += 2)
    sum += static_cast<std::uint32_t>(icmp[i] << 8 | icmp[i + 1]);
  while (sum >> 16)
    sum = (sum & 0xffff) + (sum >> 16);
  icmp[2] = static_cast<std::uint8_t>(~sum >> 8);
  icmp[3] = static_cast<std::uint8_t>(~sum & 0xff);
  return concat({0x45, 0, 0, 0, 0, 0, 0, 0, 64, 1, 0, 0, 127, 0, 0, 2, 127, 0, 0, 1}, icmp);
}

TEST(IcmpReceive, ReadsAnEchoReplyBehindTheIpHeaderOfARawSocketAndChecksItsChecksum) {
  const Bytes reply{0, 0, 0, 0, 0x12, 0x34, 0, 7, 'p', 'i', 'n', 'g'};
  Bytes packet = raw_ipv4(reply);
  const auto message = checks::parse_icmp_message(packet, false, IcmpSocketKind::kRaw);
  ASSERT_TRUE(message);
  EXPECT_EQ(message->kind, checks::IcmpMessage::Kind::kEchoReply);
  EXPECT_EQ(message->icmp.data(), packet.data() + 20);
  EXPECT_EQ(message->icmp.size(), reply.size());
  packet.back() ^= 1;
  EXPECT_FALSE(checks::parse_icmp_message(packet, false, IcmpSocketKind::kRaw));
  // A datagram socket delivers the message alone, checked by the kernel.
  EXPECT_TRUE(checks::parse_icmp_message(reply, false, IcmpSocketKind::kDatagram));
  EXPECT_FALSE(
      checks::parse_icmp_message(std::span(reply).first(7), false, IcmpSocketKind::kDatagram));
}

TEST(IcmpReceive, ReadsTheEchoRequestAndDestinationQuotedByATimeExceededError) {
  const Bytes request{8, 0, 0, 0, 0x12, 0x34, 0, 7};
  const Bytes quoted =
      concat({0x45, 0, 0, 0, 0, 0, 0, 0, 1, 1, 0, 0, 127, 0, 0, 1, 192, 0, 2, 9}, request);
  const Bytes error = concat({11, 0, 0, 0, 0, 0, 0, 0}, quoted);
  const Bytes packet = raw_ipv4(error);
  const auto message = checks::parse_icmp_message(packet, false, IcmpSocketKind::kRaw);
  ASSERT_TRUE(message);
  EXPECT_EQ(message->kind, checks::IcmpMessage::Kind::kTimeExceeded);
  EXPECT_EQ(std::vector(message->icmp.begin(), message->icmp.end()), request);
  EXPECT_EQ(std::vector(message->quoted_destination.begin(), message->quoted_destination.end()),
            (Bytes{192, 0, 2, 9}));
  // Datagram sockets get errors through the error queue only.
  EXPECT_FALSE(checks::parse_icmp_message(error, false, IcmpSocketKind::kDatagram));
}

}  // namespace
}  // namespace netmon

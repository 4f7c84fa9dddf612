#include "common/protocol/ctl_codec.hpp"

#include <gtest/gtest.h>

#include <functional>
#include <msgpack.hpp>

namespace netmon::protocol::ctl {
namespace {

std::string pack_map(const std::function<void(msgpack::packer<msgpack::sbuffer>&)>& body,
                     std::uint32_t size) {
  msgpack::sbuffer buffer;
  msgpack::packer<msgpack::sbuffer> packer(buffer);
  packer.pack_map(size);
  body(packer);
  return {buffer.data(), buffer.size()};
}

TEST(CtlCodec, RequestsAndRepliesRoundTrip) {
  const Request request{7, "add", {"edge-1", "http", "url=http://127.0.0.1:8080/", "ünïcode"}};
  auto decoded = decode_request(encode_request(request));
  ASSERT_TRUE(decoded) << decoded.error().message;
  EXPECT_EQ(*decoded, request);
  EXPECT_EQ(request_id_of(encode_request(request)), 7U);

  const Reply reply{7, false, "unknown_monitor", "no monitor 'x' (see `monitors`)", "{\"a\":1}"};
  auto back = decode_reply(encode_reply(reply));
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(*back, reply);
}

TEST(CtlCodec, HostileRequestsAreRefusedWithTheReason) {
  EXPECT_FALSE(decode_request(""));
  EXPECT_FALSE(decode_request("\xc1"));
  EXPECT_FALSE(decode_request(std::string(kMaxRequestBytes + 1, '\x90')));
  auto other = decode_request(pack_map(
      [](auto& p) {
        p.pack(std::string("proto"));
        p.pack(std::string("NMP"));
        p.pack(std::string("v"));
        p.pack(1);
      },
      2));
  ASSERT_FALSE(other);
  EXPECT_NE(other.error().message.find("NMP-CTL"), std::string::npos);

  Request request{1, "status", {}};
  std::string body = encode_request(request);
  auto version = decode_request(pack_map(
      [](auto& p) {
        p.pack(std::string("proto"));
        p.pack(std::string("NMP-CTL"));
        p.pack(std::string("v"));
        p.pack(2);
        p.pack(std::string("id"));
        p.pack(1);
        p.pack(std::string("cmd"));
        p.pack(std::string("status"));
      },
      4));
  ASSERT_FALSE(version);
  EXPECT_NE(version.error().message.find("version 2"), std::string::npos);

  auto not_strings = decode_request(pack_map(
      [](auto& p) {
        p.pack(std::string("proto"));
        p.pack(std::string("NMP-CTL"));
        p.pack(std::string("v"));
        p.pack(1);
        p.pack(std::string("id"));
        p.pack(3);
        p.pack(std::string("cmd"));
        p.pack(std::string("add"));
        p.pack(std::string("args"));
        p.pack_array(1);
        p.pack(42);
      },
      5));
  ASSERT_FALSE(not_strings);
  EXPECT_NE(not_strings.error().message.find("args"), std::string::npos)
      << not_strings.error().message;
  // The id of a request that failed to decode is still found for the error reply.
  EXPECT_EQ(request_id_of(pack_map(
                [](auto& p) {
                  p.pack(std::string("id"));
                  p.pack(3);
                },
                1)),
            3U);

  std::vector<std::string> many(kMaxArgs + 1, "x");
  EXPECT_FALSE(decode_request(encode_request(Request{1, "add", many})));
  EXPECT_FALSE(decode_request(encode_request(Request{1, "", {}})));
}

// The requests refused for their size are the ones whose caller most needs
// the error reply: it carries their id, read without unpacking the rest.
TEST(CtlCodec, TheIdOfARequestRefusedForItsSizeIsStillFound) {
  const std::string too_many =
      encode_request(Request{41, "add", std::vector<std::string>(kMaxArgs + 1, "x")});
  EXPECT_FALSE(decode_request(too_many));
  EXPECT_EQ(request_id_of(too_many), 41U);
  const std::string too_large =
      encode_request(Request{42, "complete", {std::string(kMaxRequestBytes, 'a')}});
  EXPECT_FALSE(decode_request(too_large));
  EXPECT_EQ(request_id_of(too_large), 42U);
  const std::string huge = encode_request(Request{43, "complete", {std::string(1 << 20, 'a')}});
  EXPECT_EQ(request_id_of(huge), 43U);
  EXPECT_EQ(request_id_of(too_large.substr(0, 5)), 0U);  // truncated before the id
  EXPECT_EQ(request_id_of("\x93\x01\x02\x03"), 0U);      // not a map
}

TEST(CtlCodec, AnErrorReplyWithoutACodeIsRefused) {
  EXPECT_FALSE(decode_reply(encode_reply(Reply{1, false, "", "x", ""})));
  EXPECT_TRUE(decode_reply(encode_reply(Reply{1, true, "", "ok", ""})));
}

}  // namespace
}  // namespace netmon::protocol::ctl

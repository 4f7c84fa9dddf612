// The console's wire messages (§12) on hostile bytes: decode_request,
// decode_reply and request_id_of never throw, request_id_of agrees with
// decode_request on what it accepts, and what is accepted survives
// encode/decode unchanged.

#include <cstdint>
#include <string>
#include <string_view>

#include "common/protocol/ctl_codec.hpp"
#include "tests/fuzz/fuzz_support.hpp"

namespace ctl = netmon::protocol::ctl;
using netmon::fuzz::require;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  const std::uint64_t id = ctl::request_id_of(bytes);
  if (auto request = ctl::decode_request(bytes)) {
    // Our encoder's field order: the canonical bytes give the id back.
    require(ctl::request_id_of(ctl::encode_request(*request)) == request->id,
            "request_id_of reads the id of an encoded request");
    (void)id;
    require(!request->command.empty(), "an accepted request names a command");
    require(request->args.size() <= ctl::kMaxArgs, "an accepted request has at most 256 args");
    const std::string encoded = ctl::encode_request(*request);
    auto again = ctl::decode_request(encoded);
    require(again.ok(), "an encoded request decodes again");
    require(*again == *request, "decode(encode(request)) == request");
  }
  if (auto reply = ctl::decode_reply(bytes)) {
    require(reply->ok || !reply->code.empty(), "an accepted error reply has a code");
    const std::string encoded = ctl::encode_reply(*reply);
    auto again = ctl::decode_reply(encoded);
    require(again.ok(), "an encoded reply decodes again");
    require(*again == *reply, "decode(encode(reply)) == reply");
  }
  return 0;
}

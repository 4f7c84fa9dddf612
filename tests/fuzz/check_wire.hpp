#pragma once
// The invariant of the check-spec fuzzers (check args, manager config).

#include "common/protocol/check_codec.hpp"
#include "common/protocol/codec.hpp"
#include "monitor/checks/check_registry.hpp"
#include "tests/fuzz/fuzz_support.hpp"

namespace netmon::fuzz {

// A check the manager accepts reaches the monitor in CONFIG exactly as it was
// (its digest in CONFIG_ACK must match), and the monitor accepts it too.
inline void require_same_on_the_wire(const CheckSpec& spec) {
  auto received = decode_check_spec(encode_check_spec(spec));
  require(received.ok(), "an accepted check decodes from the wire");
  require(*received == spec, "an accepted check arrives unchanged");
  require(protocol::check_digest(*received) == protocol::check_digest(spec),
          "an accepted check keeps its digest");
  require(checks::prepare_check(*received).ok(), "the monitor accepts what the manager did");
}

}  // namespace netmon::fuzz

#pragma once
// The small msgpack writers every NMP/1 body is built from, shared by the
// codec and by the agent's hot-path encodings (monitor/agent/record_encoding),
// so both write the same bytes by construction.

#include <cstdint>
#include <string_view>

#include "common/protocol/check_codec.hpp"
#include "common/protocol/messages.hpp"

namespace netmon::protocol {

inline void pack_str(Packer& packer, std::string_view text) {
  packer.pack_str(static_cast<std::uint32_t>(text.size()));
  packer.pack_str_body(text.data(), static_cast<std::uint32_t>(text.size()));
}

// Starts a body: a map of `fields` entries plus the three header fields.
inline void pack_header(Packer& packer, std::string_view type, std::uint32_t fields) {
  packer.pack_map(fields + 3);
  pack_str(packer, "proto");
  pack_str(packer, kSignature);
  pack_str(packer, "v");
  packer.pack(kVersion);
  pack_str(packer, "type");
  pack_str(packer, type);
}

inline void pack_field(Packer& packer, std::string_view key, std::string_view value) {
  pack_str(packer, key);
  pack_str(packer, value);
}

inline void pack_field(Packer& packer, std::string_view key, std::uint64_t value) {
  pack_str(packer, key);
  packer.pack(value);
}

// The four fields that name a record: monitor, monitor_id, epoch, seq.
inline void pack_key(Packer& packer, const RecordKey& key) {
  pack_field(packer, "monitor", key.monitor);
  pack_field(packer, "monitor_id", key.monitor_id);
  pack_field(packer, "epoch", key.epoch);
  pack_field(packer, "seq", key.seq);
}

}  // namespace netmon::protocol

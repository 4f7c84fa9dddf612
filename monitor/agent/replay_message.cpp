#include "monitor/agent/replay_message.hpp"

#include "common/codec.hpp"

namespace netmon::agent {
namespace {

void pack_str(Packer& packer, std::string_view text) {
  packer.pack_str(static_cast<std::uint32_t>(text.size()));
  packer.pack_str_body(text.data(), static_cast<std::uint32_t>(text.size()));
}

}  // namespace

std::string encode_replay(std::string_view epoch, const std::vector<OutboxRecord>& records) {
  msgpack::sbuffer buffer;
  Packer packer(buffer);
  packer.pack_map(5);
  pack_str(packer, "proto");
  pack_str(packer, protocol::kSignature);
  pack_str(packer, "v");
  packer.pack(protocol::kVersion);
  pack_str(packer, "type");
  pack_str(packer, "REPLAY");
  pack_str(packer, "epoch");
  pack_str(packer, epoch);
  pack_str(packer, "records");
  packer.pack_array(static_cast<std::uint32_t>(records.size()));
  // Each body is one complete msgpack map: the array's elements, verbatim.
  for (const OutboxRecord& record : records)
    buffer.write(record.body.data(), record.body.size());
  return {buffer.data(), buffer.size()};
}

}  // namespace netmon::agent

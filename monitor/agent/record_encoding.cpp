#include "monitor/agent/record_encoding.hpp"

#include "common/codec.hpp"

namespace netmon::agent {
namespace {

void pack_str(Packer& packer, std::string_view text) {
  packer.pack_str(static_cast<std::uint32_t>(text.size()));
  packer.pack_str_body(text.data(), static_cast<std::uint32_t>(text.size()));
}

void pack_header(Packer& packer, std::string_view type, std::uint32_t fields) {
  packer.pack_map(fields + 3);
  pack_str(packer, "proto");
  pack_str(packer, protocol::kSignature);
  pack_str(packer, "v");
  packer.pack(protocol::kVersion);
  pack_str(packer, "type");
  pack_str(packer, type);
}

}  // namespace

std::string encode_result_record(const protocol::RecordKey& key, const CheckResult& result) {
  msgpack::sbuffer buffer;
  Packer packer(buffer);
  pack_header(packer, "RESULT", 5);
  pack_str(packer, "monitor");
  pack_str(packer, key.monitor);
  pack_str(packer, "monitor_id");
  packer.pack(key.monitor_id);
  pack_str(packer, "epoch");
  pack_str(packer, key.epoch);
  pack_str(packer, "seq");
  packer.pack(key.seq);
  pack_str(packer, "result");
  pack_check_result(packer, result);
  return {buffer.data(), buffer.size()};
}

std::string encode_replay(std::string_view epoch, const std::vector<OutboxRecord>& records) {
  msgpack::sbuffer buffer;
  Packer packer(buffer);
  pack_header(packer, "REPLAY", 2);
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

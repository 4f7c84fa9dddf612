#pragma once
// The manager's config file as a file: loaded with a stamp of what was read,
// written back after a live change (netmon-ctl add/set/del...) so that a
// restart reads the same checks.
//
// Writing keeps the file-level and per-monitor `defaults` and leaves out a
// check's interval, timeout and retries where they equal what the defaults
// give, so the file stays as short as one written by hand. Comments and the
// order of monitors are not kept (yaml-cpp keeps neither); the previous file
// is kept as FILE.bak.

#include <cstdint>
#include <filesystem>
#include <string>

#include "common/expected.hpp"
#include "manager/manager_config.hpp"

namespace netmon::manager {

// What the file held when it was read: a save refuses when the file on disk
// no longer matches it (someone edited it; `reload` first). The modification
// time counts too, so a file written again with the same bytes is treated as
// edited: reload costs nothing then, overwriting an edit loses it.
struct ConfigFileStamp {
  std::uint64_t content_hash = 0;  // FNV-1a of the bytes
  std::uint64_t size = 0;
  std::int64_t mtime_ns = 0;

  bool operator==(const ConfigFileStamp&) const = default;
};

struct LoadedConfigFile {
  ManagerConfig config;
  ConfigFileStamp stamp;  // of the very bytes `config` was parsed from
};

// Reads and parses the file (errors as parse_manager_config's, or naming the
// file and the OS error).
Expected<LoadedConfigFile> load_config_file(const std::filesystem::path& path);

// The stamp of the file as it is now on disk.
Expected<ConfigFileStamp> stamp_config_file(const std::filesystem::path& path);

// The config as YAML that parse_manager_config reads back to an equal config.
std::string format_manager_config(const ManagerConfig& config);

// Replaces the file with `config`, atomically: FILE.tmp-PID in the same directory
// (the file's mode), fsync, the previous file copied to FILE.bak the same way,
// rename over FILE, fsync the directory. A symbolic link is followed, so the
// file it points to is the one replaced. Refuses, writing nothing, when the
// file on disk does not match `loaded`:
//   "FILE changed on disk since it was loaded; run `reload` first"
// On any failure FILE is left as it was and the error names the file and the
// OS error. Returns the stamp of the new file (the next save's `loaded`).
Expected<ConfigFileStamp> save_config_file(const std::filesystem::path& path,
                                           const ManagerConfig& config,
                                           const ConfigFileStamp& loaded);

}  // namespace netmon::manager

#include "manager/config_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <set>
#include <string_view>
#include <system_error>
#include <variant>

#include "common/duration.hpp"
#include "monitor/checks/params/check_params.hpp"

namespace netmon::manager {
namespace {

namespace fs = std::filesystem;

std::string os_error(int error) {
  return std::generic_category().message(error);
}

// Closes on destruction; close() reports the error a close can carry (NFS
// reports write errors there).
class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  int close() {
    const int result = ::close(fd_);
    fd_ = -1;
    return result == 0 ? 0 : errno;
  }

 private:
  int fd_;
};

struct FileContents {
  std::string bytes;
  struct stat status {};
};

// The whole file and its status, from one open descriptor, so the stamp
// describes exactly the bytes read. Errors are the OS error's text.
Expected<FileContents> read_file(const fs::path& path) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return Error{os_error(errno)};
  FileContents contents;
  if (::fstat(fd.get(), &contents.status) != 0) return Error{os_error(errno)};
  char buffer[64 * 1024];
  while (true) {
    const ssize_t got = ::read(fd.get(), buffer, sizeof buffer);
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) return Error{os_error(errno)};
    if (got == 0) break;
    contents.bytes.append(buffer, static_cast<std::size_t>(got));
  }
  return contents;
}

std::uint64_t fnv1a(std::string_view bytes) {
  std::uint64_t hash = 14695981039346656037ULL;
  for (const char c : bytes) {
    hash ^= static_cast<unsigned char>(c);
    hash *= 1099511628211ULL;
  }
  return hash;
}

ConfigFileStamp stamp_of(std::string_view bytes, const struct stat& status) {
  return ConfigFileStamp{
      fnv1a(bytes), bytes.size(),
      static_cast<std::int64_t>(status.st_mtim.tv_sec) * 1'000'000'000 + status.st_mtim.tv_nsec};
}

// The file a save replaces: a symbolic link's target, so the link survives.
fs::path file_to_replace(const fs::path& path) {
  std::error_code ec;
  if (fs::is_symlink(path, ec)) {
    if (fs::path target = fs::canonical(path, ec); !ec) return target;
  }
  return path;
}

fs::path with_suffix(const fs::path& path, std::string_view suffix) {
  fs::path out = path;
  out += suffix;
  return out;
}

Expected<void> write_all(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t wrote = ::write(fd, bytes.data(), bytes.size());
    if (wrote < 0 && errno == EINTR) continue;
    if (wrote < 0) return Error{os_error(errno)};
    bytes.remove_prefix(static_cast<std::size_t>(wrote));
  }
  return {};
}

// Writes `bytes` to TARGET.tmp-PID with `mode`, fsyncs it and renames it
// over `target`: readers see the old file or the new one, never a part.
// Returns the new file's status. On failure the temporary file is removed.
// The temporary is made anew (O_EXCL, O_NOFOLLOW) after unlinking whatever
// has its name: a symbolic link planted there never makes the manager (often
// root) truncate the file it points to.
Expected<struct stat> replace_file(const fs::path& target, std::string_view bytes, mode_t mode) {
  const fs::path temporary = with_suffix(target, ".tmp-" + std::to_string(::getpid()));
  ::unlink(temporary.c_str());
  const auto failed = [&](const std::string& what, int error) -> Error {
    ::unlink(temporary.c_str());
    return Error{"cannot " + what + " " + temporary.string() + ": " + os_error(error)};
  };
  Fd fd(::open(temporary.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (!fd.valid()) return Error{"cannot create " + temporary.string() + ": " + os_error(errno)};
  // open's mode passes through the umask; the old file's mode is what to keep.
  if (::fchmod(fd.get(), mode) != 0) return failed("set the mode of", errno);
  if (auto wrote = write_all(fd.get(), bytes); !wrote) {
    ::unlink(temporary.c_str());
    return Error{"cannot write " + temporary.string() + ": " + wrote.error().message};
  }
  if (::fsync(fd.get()) != 0) return failed("fsync", errno);
  struct stat status {};
  if (::fstat(fd.get(), &status) != 0) return failed("stat", errno);
  if (const int error = fd.close(); error != 0) return failed("close", error);
  if (::rename(temporary.c_str(), target.c_str()) != 0) {
    const int error = errno;
    ::unlink(temporary.c_str());
    return Error{"cannot rename " + temporary.string() + " to " + target.string() + ": " +
                 os_error(error)};
  }
  return status;
}

// A rename is durable only once its directory is.
Expected<void> sync_directory(const fs::path& directory) {
  const fs::path dir = directory.empty() ? fs::path(".") : directory;
  Fd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd.valid() || ::fsync(fd.get()) != 0) {
    return Error{"cannot fsync the directory " + dir.string() + ": " + os_error(errno)};
  }
  return {};
}

// --- writing YAML ---

void emit_defaults(YAML::Emitter& out, const CheckDefaults& defaults, const CheckDefaults& base,
                   bool all) {
  out << YAML::Flow << YAML::BeginMap;
  if (all || defaults.interval != base.interval)
    out << YAML::Key << "interval" << YAML::Value << format_duration(defaults.interval);
  if (all || defaults.timeout != base.timeout)
    out << YAML::Key << "timeout" << YAML::Value << format_duration(defaults.timeout);
  if (all || defaults.retries != base.retries)
    out << YAML::Key << "retries" << YAML::Value << std::to_string(defaults.retries);
  out << YAML::EndMap;
}

void emit_param(YAML::Emitter& out, const std::string& name, const ParamValue& value) {
  out << YAML::Key << name << YAML::Value;
  if (const auto* text = std::get_if<std::string>(&value)) {
    out << *text;
    return;
  }
  out << YAML::Flow << YAML::BeginSeq;
  for (const std::string& item : std::get<std::vector<std::string>>(value))
    out << item;
  out << YAML::EndSeq;
}

// As a person writes a check: id, type, the type's parameters in the order
// `help add` lists them, then the common fields. Those a check reads from its
// defaults when they are left out are left out (check_parser.cpp: an
// unwritten timeout is the default one, cut to 80% of a shorter interval).
void emit_check(YAML::Emitter& out, const CheckSpec& spec, const CheckDefaults& defaults,
                YAML::EMITTER_MANIP style) {
  out << style << YAML::BeginMap;
  out << YAML::Key << "id" << YAML::Value << spec.id;
  out << YAML::Key << "type" << YAML::Value << spec.type;
  std::set<std::string_view> written;
  if (const checks::CheckParamsType* type = checks::find_check_params_type(spec.type)) {
    for (const checks::ParamInfo& param : type->params) {
      if (const auto it = spec.params.find(param.name); it != spec.params.end()) {
        emit_param(out, it->first, it->second);
        written.insert(it->first);
      }
    }
  }
  for (const auto& [name, value] : spec.params) {
    if (!written.contains(name)) emit_param(out, name, value);
  }
  if (spec.interval != defaults.interval)
    out << YAML::Key << "interval" << YAML::Value << format_duration(spec.interval);
  if (spec.timeout != std::min(defaults.timeout, spec.interval * 4 / 5))
    out << YAML::Key << "timeout" << YAML::Value << format_duration(spec.timeout);
  if (spec.retries != defaults.retries)
    out << YAML::Key << "retries" << YAML::Value << std::to_string(spec.retries);
  out << YAML::EndMap;
}

// One line per check while it fits in about 100 columns; a longer one is
// written one field per line.
void emit_check(YAML::Emitter& out, const CheckSpec& spec, const CheckDefaults& defaults) {
  constexpr std::size_t kMaxLine = 100;
  constexpr std::size_t kIndent = 8;  // "      - " under monitors.NAME.checks
  YAML::Emitter line;
  line.SetOutputCharset(YAML::EmitNonAscii);
  emit_check(line, spec, defaults, YAML::Flow);
  const std::string_view text(line.c_str(), line.size());
  const bool fits = text.find('\n') == std::string_view::npos && kIndent + text.size() <= kMaxLine;
  emit_check(out, spec, defaults, fits ? YAML::Flow : YAML::Block);
}

}  // namespace

std::string format_manager_config(const ManagerConfig& config) {
  YAML::Emitter out;
  out.SetOutputCharset(YAML::EmitNonAscii);  // UTF-8 text stays readable
  out << YAML::Comment("netmon-manager rewrites this file after a change made with netmon-ctl;")
      << YAML::Newline
      << YAML::Comment("comments are not kept (the previous version is in the .bak file beside it)")
      << YAML::Newline;
  out << YAML::BeginMap;
  out << YAML::Key << "defaults" << YAML::Value;
  emit_defaults(out, config.defaults, config.defaults, true);
  out << YAML::Key << "monitors" << YAML::Value << YAML::BeginMap;
  for (const auto& [name, checks] : config.monitors) {
    out << YAML::Key << name << YAML::Value << YAML::BeginMap;
    if (const auto own = config.monitor_defaults.find(name); own != config.monitor_defaults.end()) {
      out << YAML::Key << "defaults" << YAML::Value;
      emit_defaults(out, own->second, config.defaults, false);
    }
    out << YAML::Key << "checks" << YAML::Value;
    if (checks.empty()) {
      out << YAML::Flow << YAML::BeginSeq << YAML::EndSeq;
    } else {
      out << YAML::BeginSeq;
      for (const CheckSpec& spec : checks)
        emit_check(out, spec, defaults_of(config, name));
      out << YAML::EndSeq;
    }
    out << YAML::EndMap;
  }
  out << YAML::EndMap << YAML::EndMap;
  return std::string(out.c_str()) + "\n";
}

Expected<LoadedConfigFile> load_config_file(const fs::path& path) {
  auto contents = read_file(path);
  if (!contents) {
    return Error{path.string() + ": cannot read the config file: " + contents.error().message +
                 " (check --config and permissions)"};
  }
  auto config = parse_manager_config(contents->bytes, path.string());
  if (!config) return config.error();
  return LoadedConfigFile{std::move(config).value(), stamp_of(contents->bytes, contents->status)};
}

Expected<ConfigFileStamp> stamp_config_file(const fs::path& path) {
  auto contents = read_file(path);
  if (!contents) return Error{path.string() + ": cannot read it: " + contents.error().message};
  return stamp_of(contents->bytes, contents->status);
}

Expected<ConfigFileStamp> save_config_file(const fs::path& path, const ManagerConfig& config,
                                           const ConfigFileStamp& loaded) {
  const std::string name = path.string();
  const std::string unchanged = " (" + name + " is unchanged)";
  const fs::path target = file_to_replace(path);
  auto current = read_file(target);
  if (!current) {
    return Error{name + ": cannot read it before replacing it: " + current.error().message +
                 " (restore the file, or fix its permissions, then run `reload`)"};
  }
  if (stamp_of(current->bytes, current->status) != loaded) {
    return Error{name + " changed on disk since it was loaded; run `reload` first"};
  }
  const std::string text = format_manager_config(config);
  // A value the emitter wrote in a form the parser reads differently must
  // not reach the file: check it here, while the old file is still in place.
  auto reread = parse_manager_config(text, name);
  if (!reread || *reread != config) {
    return Error{name + ": the new config does not read back as written (" +
                 (reread ? std::string("it reads back different") : reread.error().message) +
                 "); nothing was saved" + unchanged};
  }
  const mode_t mode = current->status.st_mode & 07777;
  if (auto backup = replace_file(with_suffix(target, ".bak"), current->bytes, mode); !backup) {
    return Error{name + ": " + backup.error().message + unchanged};
  }
  auto written = replace_file(target, text, mode);
  if (!written) return Error{name + ": " + written.error().message + unchanged};
  if (auto synced = sync_directory(target.parent_path()); !synced) {
    return Error{name + ": written, but " + synced.error().message};
  }
  return stamp_of(text, *written);
}

}  // namespace netmon::manager

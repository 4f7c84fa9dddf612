#include "tests/support/held_sync_vfs.hpp"

#include <sqlite3.h>

#include <stdexcept>

namespace netmon::testing {
namespace {

HeldSyncVfs* current = nullptr;
sqlite3_vfs* real_vfs = nullptr;
sqlite3_vfs wrapper_vfs;

// Our file, with the real VFS's file right behind it.
struct WrappedFile {
  sqlite3_file base;
  sqlite3_file* real;
  bool main_db;
};

sqlite3_file* real(sqlite3_file* file) {
  return reinterpret_cast<WrappedFile*>(file)->real;
}

int file_close(sqlite3_file* f) {
  return real(f)->pMethods->xClose(real(f));
}
int file_read(sqlite3_file* f, void* data, int amount, sqlite3_int64 offset) {
  return real(f)->pMethods->xRead(real(f), data, amount, offset);
}
int file_write(sqlite3_file* f, const void* data, int amount, sqlite3_int64 offset) {
  return real(f)->pMethods->xWrite(real(f), data, amount, offset);
}
int file_truncate(sqlite3_file* f, sqlite3_int64 size) {
  return real(f)->pMethods->xTruncate(real(f), size);
}
int file_sync(sqlite3_file* f, int flags) {
  if (reinterpret_cast<WrappedFile*>(f)->main_db && current != nullptr) current->sync_main_file();
  return real(f)->pMethods->xSync(real(f), flags);
}
int file_size(sqlite3_file* f, sqlite3_int64* size) {
  return real(f)->pMethods->xFileSize(real(f), size);
}
int file_lock(sqlite3_file* f, int level) {
  return real(f)->pMethods->xLock(real(f), level);
}
int file_unlock(sqlite3_file* f, int level) {
  return real(f)->pMethods->xUnlock(real(f), level);
}
int file_check_reserved(sqlite3_file* f, int* out) {
  return real(f)->pMethods->xCheckReservedLock(real(f), out);
}
int file_control(sqlite3_file* f, int op, void* arg) {
  return real(f)->pMethods->xFileControl(real(f), op, arg);
}
int file_sector_size(sqlite3_file* f) {
  return real(f)->pMethods->xSectorSize(real(f));
}
int file_device(sqlite3_file* f) {
  return real(f)->pMethods->xDeviceCharacteristics(real(f));
}
int file_shm_map(sqlite3_file* f, int region, int size, int extend, void volatile** out) {
  return real(f)->pMethods->xShmMap(real(f), region, size, extend, out);
}
int file_shm_lock(sqlite3_file* f, int offset, int n, int flags) {
  return real(f)->pMethods->xShmLock(real(f), offset, n, flags);
}
void file_shm_barrier(sqlite3_file* f) {
  real(f)->pMethods->xShmBarrier(real(f));
}
int file_shm_unmap(sqlite3_file* f, int delete_flag) {
  return real(f)->pMethods->xShmUnmap(real(f), delete_flag);
}
int file_fetch(sqlite3_file* f, sqlite3_int64 offset, int amount, void** out) {
  return real(f)->pMethods->xFetch(real(f), offset, amount, out);
}
int file_unfetch(sqlite3_file* f, sqlite3_int64 offset, void* page) {
  return real(f)->pMethods->xUnfetch(real(f), offset, page);
}

const sqlite3_io_methods wrapped_methods = {
    3,
    file_close,
    file_read,
    file_write,
    file_truncate,
    file_sync,
    file_size,
    file_lock,
    file_unlock,
    file_check_reserved,
    file_control,
    file_sector_size,
    file_device,
    file_shm_map,
    file_shm_lock,
    file_shm_barrier,
    file_shm_unmap,
    file_fetch,
    file_unfetch,
};

int vfs_open(sqlite3_vfs*, const char* name, sqlite3_file* file, int flags, int* out_flags) {
  auto* wrapped = reinterpret_cast<WrappedFile*>(file);
  wrapped->base.pMethods = nullptr;
  wrapped->real = reinterpret_cast<sqlite3_file*>(wrapped + 1);
  wrapped->main_db = (flags & SQLITE_OPEN_MAIN_DB) != 0;
  const int rc = real_vfs->xOpen(real_vfs, name, wrapped->real, flags, out_flags);
  if (rc == SQLITE_OK) wrapped->base.pMethods = &wrapped_methods;
  return rc;
}

}  // namespace

HeldSyncVfs::HeldSyncVfs() {
  if (current != nullptr) throw std::logic_error("one HeldSyncVfs at a time");
  real_ = sqlite3_vfs_find(nullptr);
  real_vfs = real_;
  wrapper_vfs = *real_;  // the real VFS's calls, but for opening files
  wrapper_vfs.pNext = nullptr;
  wrapper_vfs.zName = "netmon-held-sync";
  wrapper_vfs.szOsFile = static_cast<int>(sizeof(WrappedFile)) + real_->szOsFile;
  wrapper_vfs.xOpen = vfs_open;
  current = this;
  if (sqlite3_vfs_register(&wrapper_vfs, 1) != SQLITE_OK)
    throw std::runtime_error("sqlite3_vfs_register failed");
}

HeldSyncVfs::~HeldSyncVfs() {
  sqlite3_vfs_unregister(&wrapper_vfs);
  sqlite3_vfs_register(real_, 1);  // the default again
  current = nullptr;
}

HeldSyncVfs::Hold::Hold(HeldSyncVfs& vfs) : vfs_(vfs) {
  std::lock_guard lock(vfs_.mutex_);
  vfs_.holding_ = true;
}

HeldSyncVfs::Hold::~Hold() {
  {
    std::lock_guard lock(vfs_.mutex_);
    vfs_.holding_ = false;
  }
  vfs_.changed_.notify_all();
}

bool HeldSyncVfs::await_waiting_sync(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mutex_);
  return changed_.wait_for(lock, timeout, [this] { return waiting_ > 0; });
}

void HeldSyncVfs::sync_main_file() {
  std::unique_lock lock(mutex_);
  if (!holding_) return;
  ++waiting_;
  changed_.notify_all();
  changed_.wait(lock, [this] { return !holding_; });
  --waiting_;
}

}  // namespace netmon::testing

#pragma once
// An SQLite VFS that lets a test hold a checkpoint in the middle. Registered
// as the default while it lives, it passes everything to the real VFS except
// the fsync of a main database file while a Hold is alive: that sync waits
// until the Hold ends. A checkpoint ends with that sync; a WAL commit never
// makes it. So a test can stop a checkpoint in its fsync, as a saturated
// disk does for seconds, and see whether commits go on meanwhile.
//
// One at a time per process; open the databases after constructing it.

#include <chrono>
#include <condition_variable>
#include <mutex>

struct sqlite3_vfs;

namespace netmon::testing {

class HeldSyncVfs {
 public:
  HeldSyncVfs();
  ~HeldSyncVfs();
  HeldSyncVfs(const HeldSyncVfs&) = delete;
  HeldSyncVfs& operator=(const HeldSyncVfs&) = delete;

  // Main-database syncs wait while it lives.
  class Hold {
   public:
    explicit Hold(HeldSyncVfs& vfs);
    ~Hold();
    Hold(const Hold&) = delete;
    Hold& operator=(const Hold&) = delete;

   private:
    HeldSyncVfs& vfs_;
  };

  // True once a sync is waiting (within `timeout`).
  bool await_waiting_sync(std::chrono::milliseconds timeout);

  // For the VFS callbacks.
  void sync_main_file();

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  bool holding_ = false;
  int waiting_ = 0;
  sqlite3_vfs* real_ = nullptr;
};

}  // namespace netmon::testing

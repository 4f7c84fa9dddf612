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
#include <future>
#include <mutex>
#include <string>

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

// The scene every checkpoint test plays: `write(first, count)` commits
// `count` times. It fills the WAL past a checkpoint's wakeup (`filling`
// commits, on another thread), waits until that checkpoint is held in its
// fsync (a checkpoint syncs only once it has copied the whole WAL, that is
// once the writes pause), then writes `more`. Returns "" when every write
// finished while the checkpoint was held, else what waited.
template <class Write>
std::string writes_during_held_checkpoint(HeldSyncVfs& vfs, Write write, int filling, int more) {
  constexpr std::chrono::seconds kDeadline{20};
  std::future<void> first, second;  // joined after the hold ends, if a write waits in it
  HeldSyncVfs::Hold hold(vfs);
  first = std::async(std::launch::async, write, 0, filling);
  if (!vfs.await_waiting_sync(kDeadline)) return "no checkpoint reached its fsync";
  if (first.wait_for(kDeadline) != std::future_status::ready)
    return "the commit that filled the WAL waited for the held checkpoint";
  second = std::async(std::launch::async, write, filling, more);
  if (second.wait_for(kDeadline) != std::future_status::ready)
    return "a commit waited for the held checkpoint";
  return "";
}

}  // namespace netmon::testing

#include "common/data_dir_lock.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <stdexcept>

#include "tests/support/temp_dir.hpp"

namespace netmon {
namespace {

TEST(DataDirLock, ASecondHolderIsRefusedWithTheFirstOnesPid) {
  testing::TempDir dir;
  const auto data_dir = dir / "data";
  DataDirLock first(data_dir, "manager.lock", "netmon-manager");
  struct stat info {};
  ASSERT_EQ(::stat(data_dir.c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0700U);
  try {
    DataDirLock second(data_dir, "manager.lock", "netmon-manager");
    FAIL() << "a second lock on one data dir was granted";
  } catch (const std::runtime_error& e) {
    const std::string text = e.what();
    EXPECT_NE(
        text.find("in use by another netmon-manager (PID " + std::to_string(::getpid()) + ")"),
        std::string::npos)
        << text;
  }
}

TEST(DataDirLock, IsFreeAgainOnceItsHolderIsGone) {
  testing::TempDir dir;
  { DataDirLock first(dir.path(), "monitor.lock", "netmon-monitor"); }
  EXPECT_NO_THROW(DataDirLock(dir.path(), "monitor.lock", "netmon-monitor"));
}

TEST(DataDirLock, AFileInThePlaceOfTheDirectoryIsNamed) {
  testing::TempDir dir;
  std::ofstream(dir / "file") << "x";
  try {
    DataDirLock lock(dir / "file", "monitor.lock", "netmon-monitor");
    FAIL() << "locked a file as a directory";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("--data-dir"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace netmon

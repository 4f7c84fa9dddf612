// The test support's TempDir and await.
#include "tests/support/temp_dir.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>

#include "tests/support/await.hpp"

namespace netmon::testing {
namespace {

using namespace std::chrono_literals;

TEST(TempDir, IsCreatedEmptyAndRemovedWithItsContents) {
  std::filesystem::path path;
  {
    TempDir dir;
    path = dir.path();
    EXPECT_TRUE(std::filesystem::is_directory(path));
    EXPECT_TRUE(std::filesystem::is_empty(path));
    std::ofstream(dir / "file") << "x";
  }
  EXPECT_FALSE(std::filesystem::exists(path));
}

TEST(Await, ReturnsTrueOnceTheConditionHoldsAndFalseOnlyAfterTheDeadline) {
  int looks = 0;
  EXPECT_TRUE(await([&] { return ++looks == 5; }, 20s));
  EXPECT_EQ(looks, 5);

  const auto start = std::chrono::steady_clock::now();
  EXPECT_FALSE(await([] { return false; }, 30ms));
  EXPECT_GE(std::chrono::steady_clock::now() - start, 30ms);
}

}  // namespace
}  // namespace netmon::testing

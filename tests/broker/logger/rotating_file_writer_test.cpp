#include "broker/logger/rotating_file_writer.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "tests/support/temp_dir.hpp"

namespace netmon::logger {
namespace {

namespace fs = std::filesystem;

class RotatingFileWriterTest : public ::testing::Test {
 protected:
  static std::vector<std::string> read_lines(const fs::path& path) {
    std::vector<std::string> lines;
    std::ifstream in(path);
    for (std::string line; std::getline(in, line);)
      lines.push_back(line);
    return lines;
  }
  fs::path numbered(int index) const { return file_.string() + "." + std::to_string(index); }

  // Every line still on disk, oldest first: FILE.keep .. FILE.1, FILE.
  std::vector<std::string> all_lines(int keep) const {
    std::vector<std::string> lines;
    for (int index = keep; index >= 1; --index) {
      for (auto& line : read_lines(numbered(index)))
        lines.push_back(std::move(line));
    }
    for (auto& line : read_lines(file_))
      lines.push_back(std::move(line));
    return lines;
  }

  static std::string line_number(int n) {
    std::string line = "line " + std::to_string(n);
    line.resize(19, '.');  // 20 bytes with the newline
    return line;
  }

  netmon::testing::TempDir dir_{"netmon-logger-test."};
  fs::path file_ = dir_ / "results.log";
};

TEST_F(RotatingFileWriterTest, RotatesAtMaxBytesWithoutLosingOrSplittingALine) {
  {
    RotatingFileWriter writer(file_, 100, 5);  // 5 lines of 20 bytes per file
    for (int n = 1; n <= 23; ++n)
      writer.write_line(line_number(n));
    writer.flush();
    EXPECT_EQ(writer.rotations(), 4u);
  }
  std::vector<std::string> expected;
  for (int n = 1; n <= 23; ++n)
    expected.push_back(line_number(n));
  EXPECT_EQ(all_lines(5), expected);
  for (int index = 1; index <= 4; ++index) {
    EXPECT_EQ(fs::file_size(numbered(index)), 100u) << numbered(index);
  }
  EXPECT_EQ(fs::file_size(file_), 60u);
  EXPECT_EQ(read_lines(numbered(4)).front(), line_number(1));  // oldest in the highest number
}

TEST_F(RotatingFileWriterTest, KeepsOnlyTheNewestKeepFiles) {
  {
    RotatingFileWriter writer(file_, 100, 3);
    for (int n = 1; n <= 50; ++n)
      writer.write_line(line_number(n));
  }
  EXPECT_TRUE(fs::exists(numbered(3)));
  EXPECT_FALSE(fs::exists(numbered(4)));
  std::size_t files = 0;
  for ([[maybe_unused]] const auto& entry : fs::directory_iterator(dir_.path()))
    ++files;
  EXPECT_EQ(files, 4u);  // FILE + 3 rotated
  // What is kept is the newest lines, contiguous: nothing lost between the kept files.
  std::vector<std::string> expected;
  for (int n = 31; n <= 50; ++n)
    expected.push_back(line_number(n));
  EXPECT_EQ(all_lines(3), expected);
}

TEST_F(RotatingFileWriterTest, AppendsToAnExistingFileAndCountsItsSize) {
  {
    std::ofstream existing(file_);
    existing << line_number(0) << '\n' << line_number(0) << '\n' << line_number(0) << '\n';
  }
  RotatingFileWriter writer(file_, 100, 2);
  writer.write_line(line_number(1));
  writer.write_line(line_number(2));
  EXPECT_EQ(writer.rotations(), 0u);
  writer.write_line(line_number(3));  // 120 bytes would pass 100
  EXPECT_EQ(writer.rotations(), 1u);
  writer.flush();
  EXPECT_EQ(read_lines(numbered(1)).size(), 5u);
  EXPECT_EQ(read_lines(file_), std::vector<std::string>{line_number(3)});
}

TEST_F(RotatingFileWriterTest, GivesALineLongerThanMaxBytesAFileOfItsOwn) {
  RotatingFileWriter writer(file_, 10, 2);
  const std::string long_line(50, 'x');
  writer.write_line("short");
  writer.write_line(long_line);
  writer.write_line("after");
  writer.flush();
  EXPECT_EQ(read_lines(numbered(2)), std::vector<std::string>{"short"});
  EXPECT_EQ(read_lines(numbered(1)), std::vector<std::string>{long_line});
  EXPECT_EQ(read_lines(file_), std::vector<std::string>{"after"});
}

TEST_F(RotatingFileWriterTest, NamesTheFlagWhenTheFileCannotBeOpened) {
  try {
    RotatingFileWriter writer(dir_ / "missing-dir" / "x.log", 100, 2);
    FAIL() << "opened a file in a missing directory";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("--output"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("missing-dir"), std::string::npos) << e.what();
  }
  EXPECT_THROW(RotatingFileWriter(file_, 100, 0), std::runtime_error);
}

}  // namespace
}  // namespace netmon::logger

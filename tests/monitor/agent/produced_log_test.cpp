#include "monitor/agent/produced_log.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "tests/support/temp_dir.hpp"

namespace netmon::agent {
namespace {

std::string read_all(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

TEST(ProducedLog, AppendsOneEpochAndSeqLinePerCommittedRecord) {
  testing::TempDir dir("netmon-produced-");
  {
    ProducedLog log(dir / "produced.log", "abcd", 0);
    log.append({{1, "", ""}, {2, "", ""}});
    log.append({{3, "", ""}});
  }
  EXPECT_EQ(read_all(dir / "produced.log"), "abcd 1\nabcd 2\nabcd 3\n");
}

TEST(ProducedLog, AddsTheLinesAKillBetweenCommitAndLogLeftOut) {
  testing::TempDir dir("netmon-produced-");
  {
    ProducedLog log(dir / "produced.log", "abcd", 0);
    log.append({{1, "", ""}, {2, "", ""}});
  }
  // The outbox committed up to 4 before the process died.
  { ProducedLog log(dir / "produced.log", "abcd", 4); }
  // Nothing is repeated when the log is complete.
  { ProducedLog log(dir / "produced.log", "abcd", 4); }
  // A new outbox (new epoch) logs its own committed seqs.
  { ProducedLog log(dir / "produced.log", "ef01", 2); }
  EXPECT_EQ(read_all(dir / "produced.log"), "abcd 1\nabcd 2\nabcd 3\nabcd 4\nef01 1\nef01 2\n");
}

TEST(ProducedLog, NamesTheFlagWhenTheFileCannotBeOpened) {
  testing::TempDir dir("netmon-produced-");
  try {
    ProducedLog log(dir / "missing" / "produced.log", "abcd", 0);
    FAIL() << "expected an error";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("--produced-log"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace netmon::agent

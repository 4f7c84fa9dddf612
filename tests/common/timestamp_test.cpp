#include "common/timestamp.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <ctime>
#include <optional>
#include <regex>
#include <string>

#include "common/command_line.hpp"
#include "common/logging.hpp"

namespace netmon {
namespace {

using std::chrono::milliseconds;
using std::chrono::sys_days;

// 2026-12-04T21:00:00.123Z
const auto kFixed = std::chrono::system_clock::time_point(
    sys_days(std::chrono::year{2026} / 12 / 4) + std::chrono::hours(21) + milliseconds(123));

// Sets TZ (POSIX form, so no tzdata is needed) and the output zone for one
// test, and puts both back.
class TimeZoneTest : public ::testing::Test {
 protected:
  void TearDown() override {
    if (saved_tz_) {
      setenv("TZ", saved_tz_->c_str(), 1);
    } else {
      unsetenv("TZ");
    }
    tzset();
    set_output_time_zone(TimeZone::kUtc);
  }

  static void set_tz(const char* tz) {
    setenv("TZ", tz, 1);
    tzset();
  }

 private:
  std::optional<std::string> saved_tz_ =
      std::getenv("TZ") ? std::optional<std::string>(std::getenv("TZ")) : std::nullopt;
};

TEST_F(TimeZoneTest, UtcIsRfc3339WithMillisecondsAndZ) {
  set_tz("CET-1");  // UTC output ignores the local zone
  EXPECT_EQ(format_timestamp(kFixed, TimeZone::kUtc), "2026-12-04T21:00:00.123Z");
  EXPECT_EQ(format_timestamp(kFixed), "2026-12-04T21:00:00.123Z") << "UTC is the default";
  // Before 1970 the fraction still counts forward from the second.
  EXPECT_EQ(
      format_timestamp(std::chrono::system_clock::time_point(milliseconds(-1)), TimeZone::kUtc),
      "1969-12-31T23:59:59.999Z");
}

TEST_F(TimeZoneTest, LocalTimeCarriesItsNumericOffset) {
  set_tz("CET-1");
  EXPECT_EQ(format_timestamp(kFixed, TimeZone::kLocal), "2026-12-04T22:00:00.123+01:00");
  set_tz("EST5");
  EXPECT_EQ(format_timestamp(kFixed, TimeZone::kLocal), "2026-12-04T16:00:00.123-05:00");
  set_tz("IST-5:30");
  EXPECT_EQ(format_timestamp(kFixed, TimeZone::kLocal), "2026-12-05T02:30:00.123+05:30");
  set_tz("UTC0");
  EXPECT_EQ(format_timestamp(kFixed, TimeZone::kLocal), "2026-12-04T21:00:00.123+00:00");
}

TEST_F(TimeZoneTest, TheOutputZoneSwitchesTheDefault) {
  set_tz("CET-1");
  set_output_time_zone(TimeZone::kLocal);
  EXPECT_EQ(format_timestamp(kFixed), "2026-12-04T22:00:00.123+01:00");
}

TEST_F(TimeZoneTest, LocalTimeOptionSetsTheOutputZone) {
  CLI::App app{"test", "netmon-test"};
  add_local_time_option(app);
  const char* plain[] = {"netmon-test"};
  ASSERT_FALSE(parse_command_line(app, 1, plain));
  EXPECT_EQ(output_time_zone(), TimeZone::kUtc);
  const char* local[] = {"netmon-test", "--local-time"};
  ASSERT_FALSE(parse_command_line(app, 2, local));
  EXPECT_EQ(output_time_zone(), TimeZone::kLocal);
}

std::string formatted_log_line() {
  const spdlog::details::log_msg message(kFixed, spdlog::source_loc{}, "monitor",
                                         spdlog::level::info, "connected");
  spdlog::memory_buf_t buffer;
  make_log_formatter()->format(message, buffer);
  return fmt::to_string(buffer);
}

TEST_F(TimeZoneTest, LogLinesUseTheSameTimeAsResultLines) {
  set_tz("CET-1");
  EXPECT_EQ(formatted_log_line(), "2026-12-04T21:00:00.123Z info  [monitor] connected\n");
  set_output_time_zone(TimeZone::kLocal);
  EXPECT_EQ(formatted_log_line(), "2026-12-04T22:00:00.123+01:00 info  [monitor] connected\n");
}

TEST_F(TimeZoneTest, ComponentLoggersWriteThePattern) {
  setup_logging("info");
  testing::internal::CaptureStderr();
  component_logger("timestamp-test")->info("hello");
  component_logger("timestamp-test")->flush();
  const std::string line = testing::internal::GetCapturedStderr();
  EXPECT_TRUE(std::regex_match(
      line,
      std::regex(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z info  \[timestamp-test\] hello\n)")))
      << line;
}

}  // namespace
}  // namespace netmon

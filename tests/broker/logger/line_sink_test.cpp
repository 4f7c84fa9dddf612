// StreamSink: a line plus a newline on the stream it is given, flushed only by
// flush(), and an error once the stream cannot take the line.
#include "broker/logger/line_sink.hpp"

#include <gtest/gtest.h>

#include <ostream>
#include <stdexcept>

#include "tests/broker/logger/logger_test_support.hpp"

namespace netmon::logger {
namespace {

using testing::CaptureStreambuf;

TEST(StreamSink, WritesEachLineWithANewlineAndFlushesOnlyOnFlush) {
  CaptureStreambuf buffer;
  std::ostream out(&buffer);
  StreamSink sink(out);
  sink.write_line("first");
  sink.write_line("");
  sink.write_line("third");
  EXPECT_EQ(buffer.text(), "first\n\nthird\n");
  EXPECT_EQ(buffer.syncs(), 0);
  sink.flush();
  EXPECT_EQ(buffer.syncs(), 1);
}

TEST(StreamSink, ThrowsWhenTheStreamCannotTakeTheLine) {
  CaptureStreambuf buffer;
  std::ostream out(&buffer);
  StreamSink sink(out);
  sink.write_line("kept");
  buffer.close();
  EXPECT_THROW(sink.write_line("lost"), std::runtime_error);
  EXPECT_NO_THROW(sink.flush());  // the subscriber flushes after a failed write too
  EXPECT_EQ(buffer.text(), "kept\n");
}

}  // namespace
}  // namespace netmon::logger

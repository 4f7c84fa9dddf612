#include "monitor/engine/check_engine.hpp"

#include <asio/post.hpp>

namespace netmon {

CheckEngine::CheckEngine(asio::io_context& io, std::shared_ptr<spdlog::logger> log, ResultSink sink)
    : io_(io), env_(io, std::move(log)), runner_(env_), sink_(std::move(sink)), timer_(io) {}

CheckEngine::~CheckEngine() {
  *alive_ = false;
  timer_.cancel();
}

Expected<void> CheckEngine::set_checks(const std::vector<CheckSpec>& specs) {
  auto valid = checks::prepare_checks(specs);
  if (!valid) return valid.error();
  std::vector<checks::PreparedCheck> prepared = std::move(valid).value();
  std::unordered_map<std::string, std::size_t> seen;
  for (std::size_t i = 0; i < prepared.size(); ++i)
    seen.emplace(prepared[i].spec.id, i);

  const auto now = CheckScheduler::Clock::now();
  std::unordered_map<std::string, std::size_t> next_by_id;
  for (auto& [id, slot] : slot_by_id_) {
    const auto kept = seen.find(id);
    if (kept != seen.end() && prepared[kept->second].spec == slots_[slot].check.spec) {
      next_by_id.emplace(id, slot);
      continue;
    }
    scheduler_.remove(slot);
    slots_[slot].active = false;
    slots_[slot].running = false;  // a run of it still in flight reports but frees nothing
    slots_[slot].generation = 0;
    free_slots_.push_back(slot);
  }
  for (auto& check : prepared) {
    if (next_by_id.contains(check.spec.id)) continue;
    std::size_t slot = slots_.size();
    if (!free_slots_.empty()) {
      slot = free_slots_.back();
      free_slots_.pop_back();
    } else {
      slots_.emplace_back();
    }
    Slot& entry = slots_[slot];
    entry.check = std::move(check);
    entry.generation = next_generation_++;
    entry.running = false;
    entry.active = true;
    scheduler_.add(slot, entry.check.spec.id, entry.check.spec.interval, now);
    next_by_id.emplace(entry.check.spec.id, slot);
  }
  slot_by_id_ = std::move(next_by_id);
  arm_timer();
  return {};
}

void CheckEngine::arm_timer() {
  const auto due = scheduler_.next_due();
  if (!due) {
    timer_.cancel();
    armed_for_.reset();
    return;
  }
  if (armed_for_ && *armed_for_ == *due) return;
  armed_for_ = due;
  timer_.expires_at(*due);
  timer_.async_wait([this, alive = alive_](const std::error_code& ec) {
    if (ec || !*alive) return;
    armed_for_.reset();
    on_tick();
  });
}

void CheckEngine::on_tick() {
  const auto now = CheckScheduler::Clock::now();
  scheduler_.pop_due(
      now, [&](std::size_t slot, CheckScheduler::TimePoint due) { fire(slot, due, now); },
      kMaxStartsPerTurn);
  if (const auto next = scheduler_.next_due(); next && *next <= now) {
    // More is due: let the loop handle I/O first, so replies that already
    // arrived are read before their deadlines fire (under overload the
    // deadlines would otherwise win and every check would time out).
    asio::post(io_, [this, alive = alive_] {
      if (*alive) on_tick();
    });
    return;
  }
  arm_timer();
}

void CheckEngine::fire(std::size_t slot, CheckScheduler::TimePoint due,
                       CheckScheduler::TimePoint now) {
  Slot& entry = slots_[slot];
  stats_.lateness.record(std::chrono::duration_cast<std::chrono::microseconds>(now - due));
  if (entry.running) {
    ++stats_.overruns;
    return;
  }
  entry.running = true;
  ++stats_.runs_started;
  runner_.run(entry.check,
              [this, alive = alive_, slot, generation = entry.generation](CheckResult result) {
                if (!*alive) return;
                if (slots_[slot].generation == generation) slots_[slot].running = false;
                ++stats_.results;
                sink_(std::move(result));
              });
}

}  // namespace netmon

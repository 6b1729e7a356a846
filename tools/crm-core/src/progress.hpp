// Progress of a long stage (loading, validating, applying): a bar with rows/s and ETA redrawn in
// place on a terminal, plain lines every few seconds otherwise (logs, CI).
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <ostream>
#include <string>

namespace crm_core::tool {

struct ProgressState {
    std::string stage;       // "loading", "validating", "applying"
    std::uint64_t rows = 0;  // rows done
    double fraction = 0;     // 0..1 of the stage done (bytes read while loading)
    double seconds = 0;      // since the stage started
    std::optional<std::uint64_t> total_rows;
};

// "applying   [#########.........]  45%  450,000 rows  12,345 rows/s  ETA 0:44" (bar) or
// "applying: 45% (450,000 rows, 12,345 rows/s, ETA 0:44)" (plain).
std::string progress_line(const ProgressState& state, bool bar);

// 1234567 -> "1,234,567".
std::string grouped(std::uint64_t number);

// Seconds as "0:44", "12:05", "1:02:03".
std::string clock_text(double seconds);

class Progress {
  public:
    Progress(std::ostream& out, bool terminal);

    void start(const std::string& stage, std::optional<std::uint64_t> total_rows = std::nullopt);
    // rows done so far and the fraction of the stage (when total_rows is unknown).
    void update(std::uint64_t rows, double fraction);
    // Ends the stage with its final figures on a line of its own.
    void finish();

  private:
    void draw(bool final_line);

    std::ostream& out_;
    bool terminal_;
    ProgressState state_;
    std::chrono::steady_clock::time_point started_;
    std::chrono::steady_clock::time_point drawn_;
};

}  // namespace crm_core::tool

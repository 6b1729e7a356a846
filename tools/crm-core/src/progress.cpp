#include "progress.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace crm_core::tool {

std::string grouped(std::uint64_t number) {
    std::string digits = std::to_string(number);
    for (int at = static_cast<int>(digits.size()) - 3; at > 0; at -= 3) {
        digits.insert(static_cast<std::size_t>(at), ",");
    }
    return digits;
}

std::string clock_text(double seconds) {
    auto total = static_cast<long>(std::lround(std::max(seconds, 0.0)));
    char text[32];
    if (total >= 3600) {
        std::snprintf(text, sizeof text, "%ld:%02ld:%02ld", total / 3600, (total / 60) % 60,
                      total % 60);
    } else {
        std::snprintf(text, sizeof text, "%ld:%02ld", total / 60, total % 60);
    }
    return text;
}

std::string progress_line(const ProgressState& state, bool bar) {
    double fraction = state.fraction;
    if (state.total_rows && *state.total_rows > 0) {
        fraction = static_cast<double>(state.rows) / static_cast<double>(*state.total_rows);
    }
    fraction = std::clamp(fraction, 0.0, 1.0);
    double rate = state.seconds > 0 ? static_cast<double>(state.rows) / state.seconds : 0;
    std::string eta = "ETA --:--";
    if (fraction >= 1.0) {
        eta = "done in " + clock_text(state.seconds);
    } else if (fraction > 0 && state.seconds > 0) {
        eta = "ETA " + clock_text(state.seconds * (1 - fraction) / fraction);
    }
    int percent = static_cast<int>(fraction * 100);
    std::string rows = grouped(state.rows) + " rows";
    std::string speed = grouped(static_cast<std::uint64_t>(rate)) + " rows/s";
    if (!bar) {
        return state.stage + ": " + std::to_string(percent) + "% (" + rows + ", " + speed + ", " +
               eta + ")";
    }
    constexpr int kWidth = 30;
    int filled = static_cast<int>(fraction * kWidth);
    char head[64];
    std::snprintf(head, sizeof head, "%-10s [", state.stage.c_str());
    char percent_text[8];
    std::snprintf(percent_text, sizeof percent_text, "%3d%%", percent);
    return std::string(head) + std::string(static_cast<std::size_t>(filled), '#') +
           std::string(static_cast<std::size_t>(kWidth - filled), '.') + "] " + percent_text +
           "  " + rows + "  " + speed + "  " + eta;
}

Progress::Progress(std::ostream& out, bool terminal) : out_(out), terminal_(terminal) {}

void Progress::start(const std::string& stage, std::optional<std::uint64_t> total_rows) {
    state_ = ProgressState{stage, 0, 0, 0, total_rows};
    started_ = drawn_ = std::chrono::steady_clock::now();
    if (terminal_) {
        draw(false);
    }
}

void Progress::update(std::uint64_t rows, double fraction) {
    auto now = std::chrono::steady_clock::now();
    state_.rows = rows;
    state_.fraction = fraction;
    state_.seconds = std::chrono::duration<double>(now - started_).count();
    // A terminal is redrawn ten times a second; a log gets a line every five seconds.
    auto every = terminal_ ? std::chrono::milliseconds(100) : std::chrono::milliseconds(5000);
    if (now - drawn_ >= every) {
        drawn_ = now;
        draw(false);
    }
}

void Progress::finish() {
    state_.seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
    state_.fraction = 1.0;
    if (state_.total_rows) {
        state_.total_rows = state_.rows;
    }
    draw(true);
}

void Progress::draw(bool final_line) {
    if (terminal_) {
        out_ << '\r' << progress_line(state_, true) << "\x1b[K";
        if (final_line) {
            out_ << '\n';
        }
    } else {
        out_ << progress_line(state_, false) << '\n';
    }
    out_.flush();
}

}  // namespace crm_core::tool

#pragma once
// Progress of long work on stderr: a redrawn bar on a terminal, plain log lines (at most
// one every few seconds) when stderr is a file or a pipe, nothing when disabled.

#include "util/progress.h"

#include <chrono>

namespace ptq::cli {

class TerminalProgress {
public:
    explicit TerminalProgress(bool enabled);
    ProgressFn callback();
    void finish(); // ends the bar's line

private:
    bool update(const Progress& p);

    bool m_enabled;
    bool m_tty;
    bool m_drawn = false;
    std::chrono::steady_clock::time_point m_start;
    std::chrono::steady_clock::time_point m_lastLine;
};

} // namespace ptq::cli

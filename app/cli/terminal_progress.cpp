#include "cli/terminal_progress.h"

#include <cstdio>
#include <string>
#include <unistd.h>

namespace ptq::cli {

TerminalProgress::TerminalProgress(bool enabled)
    : m_enabled(enabled), m_tty(isatty(fileno(stderr)) != 0),
      m_start(std::chrono::steady_clock::now()), m_lastLine(m_start)
{}

ProgressFn TerminalProgress::callback()
{
    if (!m_enabled)
        return {};
    return [this](const Progress& p) { return update(p); };
}

bool TerminalProgress::update(const Progress& p)
{
    using namespace std::chrono;
    const auto now = steady_clock::now();
    const double elapsed = duration<double>(now - m_start).count();
    const double frac = p.total > 0 ? double(p.done) / double(p.total) : 0.0;
    if (m_tty) {
        constexpr int kWidth = 30;
        const int filled = static_cast<int>(frac * kWidth + 0.5);
        std::string bar(filled, '#');
        bar.resize(kWidth, '.');
        std::fprintf(stderr, "\r%-12s [%s] %5.1f%%  %-24s %6.1fs", p.stage.c_str(), bar.c_str(),
                     100.0 * frac, p.detail.c_str(), elapsed);
        std::fflush(stderr);
        m_drawn = true;
    } else if (duration<double>(now - m_lastLine).count() >= 5.0 || p.done == p.total) {
        std::fprintf(stderr, "[%7.1fs] %s %lld/%lld %s\n", elapsed, p.stage.c_str(),
                     static_cast<long long>(p.done), static_cast<long long>(p.total),
                     p.detail.c_str());
        m_lastLine = now;
    }
    return true;
}

void TerminalProgress::finish()
{
    if (m_drawn)
        std::fprintf(stderr, "\n");
    m_drawn = false;
}

} // namespace ptq::cli

#include "display_format.h"

#include <QCoreApplication>
#include <QLocale>
#include <cmath>

namespace ptq {

QString formatCompactCount(int64_t n)
{
    const QLocale locale;
    static const char* const kSuffixes[] = {"K", "M", "B", "T"};
    const double magnitude = std::fabs(double(n));
    if (magnitude < 1000.0)
        return locale.toString(qlonglong(n));
    double scaled = double(n);
    int index = -1;
    // Compare after rounding to the shown two decimals: 999,999 is "1.00 M", not "1000.00 K".
    while (std::round(std::fabs(scaled) * 100.0) >= 100000.0 && index < 3) {
        scaled /= 1000.0;
        ++index;
    }
    return QStringLiteral("%1 %2").arg(locale.toString(scaled, 'f', 2),
                                       QLatin1String(kSuffixes[index]));
}

QString formatParameterCount(int64_t n)
{
    if (std::llabs(n) < 1000)
        return QLocale().toString(qlonglong(n));
    return QStringLiteral("%1 (%2)").arg(formatCompactCount(n), QLocale().toString(qlonglong(n)));
}

QString formatByteSize(uint64_t bytes)
{
    const QLocale locale;
    return QCoreApplication::translate("ptq::DisplayFormat", "%1 (%2 bytes)")
        .arg(locale.formattedDataSize(qint64(bytes), 2), locale.toString(qulonglong(bytes)));
}

QString formatDuration(double seconds)
{
    if (!(seconds >= 0))
        return QStringLiteral("—");
    const qint64 s = qint64(std::llround(seconds));
    if (s < 60)
        return QCoreApplication::translate("ptq::DisplayFormat", "%1 s").arg(s);
    if (s < 3600)
        return QCoreApplication::translate("ptq::DisplayFormat", "%1 min %2 s")
            .arg(s / 60)
            .arg(s % 60, 2, 10, QLatin1Char('0'));
    return QCoreApplication::translate("ptq::DisplayFormat", "%1 h %2 min")
        .arg(s / 3600)
        .arg((s % 3600) / 60, 2, 10, QLatin1Char('0'));
}

} // namespace ptq

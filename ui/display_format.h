#pragma once
// How the UI spells counts and sizes. Locale-aware (digit grouping, decimal point) so a
// Japanese or Chinese session reads numbers the way its users expect.

#include <QString>
#include <cstdint>

namespace ptq {

// 1234567 -> "1.23 M"; below 1000 the plain number. Suffixes K, M, B, T follow the
// convention of model names ("7B").
QString formatCompactCount(int64_t n);

// "1.23 M (1,234,567)": the compact form for reading, the exact one for comparing.
QString formatParameterCount(int64_t n);

// "1.50 GiB (1,610,612,736 bytes)".
QString formatByteSize(uint64_t bytes);

// "1 h 05 min", "3 min 20 s", "45 s", "—" for a negative (unknown) duration.
QString formatDuration(double seconds);

} // namespace ptq

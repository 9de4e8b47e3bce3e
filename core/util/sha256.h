#pragma once

#include <string>
#include <string_view>

namespace ptq {

// SHA-256 (FIPS 180-4) of `bytes` as 64 lowercase hex digits.
std::string sha256Hex(std::string_view bytes);

} // namespace ptq

#pragma once
// UTF-8 helpers, the GPT-2 byte <-> code point table, Unicode normalization and lowercasing
// (ICU) and a PCRE2 regex wrapper for the tokenizer. Torch-free.

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ptq::text {

// Byte length of the well-formed UTF-8 sequence starting at s[i]; nullopt when it is not
// well formed (bad lead byte, bad continuation, overlong form, surrogate, > U+10FFFF).
std::optional<size_t> utf8SequenceLength(std::string_view s, size_t i);

// Byte offset of the first ill-formed sequence, nullopt for valid UTF-8.
std::optional<size_t> firstInvalidUtf8(std::string_view s);

// Code point of the (valid) sequence at s[i]; *length receives its byte length.
char32_t decodeCodePoint(std::string_view s, size_t i, size_t* length);

void appendUtf8(std::string& out, char32_t cp);

// Decodes bytes as UTF-8 the way the WHATWG TextDecoder does: each maximal ill-formed
// subpart becomes one U+FFFD, so partial byte tokens decode like the reference tokenizers.
std::string sanitizeUtf8(std::string_view bytes);

// The GPT-2 byte-level alphabet: byte b maps to one printable code point (UTF-8 encoded).
const std::array<std::string, 256>& byteLevelAlphabet();
// Inverse of byteLevelAlphabet() for one code point; nullopt when it is not in the alphabet.
std::optional<uint8_t> byteLevelByte(char32_t cp);

// JavaScript's String.prototype.trim whitespace set (what transformers.js uses for
// lstrip/rstrip of added tokens).
bool isJsWhitespace(char32_t cp);
std::string_view trimStartJs(std::string_view s);
std::string_view trimEndJs(std::string_view s);

// The four Unicode normalization forms (UAX #15).
enum class NormalizationForm { Nfc, Nfd, Nfkc, Nfkd };

// `text` in the given form, computed by ICU (the same library behind JavaScript's
// String.prototype.normalize in V8). Throws ptq::Error(file, object, ...) for ill-formed
// UTF-8 or when ICU fails.
std::string normalizeUnicode(std::string_view text, NormalizationForm form, const std::string& file,
                             const std::string& object);

// Full Unicode lowercase mapping with the root locale (SpecialCasing.txt's unconditional
// mappings and Final_Sigma), like JavaScript's String.prototype.toLowerCase. Errors as above.
std::string lowercaseUnicode(std::string_view text, const std::string& file,
                             const std::string& object);

// A PCRE2 pattern compiled with UTF + UCP (\p{L}, \s... follow Unicode), JIT-compiled when
// the library supports it. Subjects must be valid UTF-8 (the tokenizer checks once up front).
class Regex {
public:
    // Throws ptq::Error(file, object, ...) with PCRE2's message and offset on a bad pattern.
    Regex(const std::string& pattern, const std::string& file, const std::string& object);
    ~Regex();
    Regex(Regex&&) noexcept;
    Regex& operator=(Regex&&) noexcept;

    // Successive non-overlapping matches as [begin, end) byte ranges, like JavaScript's
    // String.prototype.matchAll with the "gu" flags: after an empty match the scan moves on
    // by one code point.
    std::vector<std::pair<size_t, size_t>> findAll(std::string_view subject) const;

private:
    struct Code;
    std::unique_ptr<Code> m_code;
    std::string m_file;
    std::string m_object;
};

} // namespace ptq::text

#include "text/unicode.h"

#include "util/error.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <unicode/unorm2.h>
#include <unicode/ustring.h>

#include <algorithm>

namespace ptq::text {

namespace {

// Well-formed UTF-8 (Unicode 15, table 3-7): the lead byte fixes the length and the range
// of the second byte; later bytes are 80..BF. Returns how many bytes of s[i..] form a valid
// prefix (`complete` set when it is a whole sequence).
size_t validPrefix(std::string_view s, size_t i, bool* complete)
{
    const auto b0 = uint8_t(s[i]);
    size_t need = 0;
    uint8_t lo = 0x80, hi = 0xBF;
    if (b0 < 0x80) {
        *complete = true;
        return 1;
    } else if (b0 >= 0xC2 && b0 <= 0xDF) {
        need = 1;
    } else if (b0 >= 0xE0 && b0 <= 0xEF) {
        need = 2;
        lo = b0 == 0xE0 ? 0xA0 : 0x80;
        hi = b0 == 0xED ? 0x9F : 0xBF;
    } else if (b0 >= 0xF0 && b0 <= 0xF4) {
        need = 3;
        lo = b0 == 0xF0 ? 0x90 : 0x80;
        hi = b0 == 0xF4 ? 0x8F : 0xBF;
    } else {
        *complete = false;
        return 0;
    }
    size_t got = 1;
    for (; got <= need && i + got < s.size(); ++got) {
        const auto b = uint8_t(s[i + got]);
        const uint8_t l = got == 1 ? lo : 0x80, h = got == 1 ? hi : 0xBF;
        if (b < l || b > h)
            break;
    }
    *complete = got == need + 1;
    return got;
}

} // namespace

std::optional<size_t> utf8SequenceLength(std::string_view s, size_t i)
{
    bool complete = false;
    const size_t n = validPrefix(s, i, &complete);
    if (!complete)
        return std::nullopt;
    return n;
}

std::optional<size_t> firstInvalidUtf8(std::string_view s)
{
    for (size_t i = 0; i < s.size();) {
        if (uint8_t(s[i]) < 0x80) {
            ++i;
            continue;
        }
        const auto n = utf8SequenceLength(s, i);
        if (!n)
            return i;
        i += *n;
    }
    return std::nullopt;
}

char32_t decodeCodePoint(std::string_view s, size_t i, size_t* length)
{
    const auto b0 = uint8_t(s[i]);
    size_t n = b0 < 0x80 ? 1 : b0 < 0xE0 ? 2 : b0 < 0xF0 ? 3 : 4;
    n = std::min(n, s.size() - i);
    char32_t cp = n == 1 ? b0 : n == 2 ? (b0 & 0x1F) : n == 3 ? (b0 & 0x0F) : (b0 & 0x07);
    for (size_t k = 1; k < n; ++k)
        cp = (cp << 6) | (uint8_t(s[i + k]) & 0x3F);
    *length = n;
    return cp;
}

void appendUtf8(std::string& out, char32_t cp)
{
    if (cp < 0x80) {
        out += char(cp);
    } else if (cp < 0x800) {
        out += char(0xC0 | (cp >> 6));
        out += char(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        out += char(0xE0 | (cp >> 12));
        out += char(0x80 | ((cp >> 6) & 0x3F));
        out += char(0x80 | (cp & 0x3F));
    } else {
        out += char(0xF0 | (cp >> 18));
        out += char(0x80 | ((cp >> 12) & 0x3F));
        out += char(0x80 | ((cp >> 6) & 0x3F));
        out += char(0x80 | (cp & 0x3F));
    }
}

std::string sanitizeUtf8(std::string_view bytes)
{
    std::string out;
    out.reserve(bytes.size());
    for (size_t i = 0; i < bytes.size();) {
        bool complete = false;
        const size_t n = validPrefix(bytes, i, &complete);
        if (complete) {
            out.append(bytes.substr(i, n));
            i += n;
        } else {
            appendUtf8(out, 0xFFFD);
            i += std::max<size_t>(n, 1);
        }
    }
    return out;
}

namespace {

// GPT-2's bytes_to_unicode(): printable Latin-1 bytes keep their code point, the other 68
// bytes are numbered from U+0100 upwards in byte order.
std::array<char32_t, 256> buildByteTable()
{
    std::array<char32_t, 256> table{};
    char32_t next = 0x100;
    for (int b = 0; b < 256; ++b) {
        const bool printable =
            (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
        table[b] = printable ? char32_t(b) : next++;
    }
    return table;
}

const std::array<char32_t, 256>& byteTable()
{
    static const std::array<char32_t, 256> table = buildByteTable();
    return table;
}

} // namespace

const std::array<std::string, 256>& byteLevelAlphabet()
{
    static const std::array<std::string, 256> alphabet = [] {
        std::array<std::string, 256> a;
        for (int b = 0; b < 256; ++b)
            appendUtf8(a[b], byteTable()[b]);
        return a;
    }();
    return alphabet;
}

std::optional<uint8_t> byteLevelByte(char32_t cp)
{
    // The alphabet lies within U+0000..U+0143.
    static const std::array<int16_t, 0x144> inverse = [] {
        std::array<int16_t, 0x144> inv;
        inv.fill(-1);
        for (int b = 0; b < 256; ++b)
            inv[byteTable()[b]] = int16_t(b);
        return inv;
    }();
    if (cp >= inverse.size() || inverse[cp] < 0)
        return std::nullopt;
    return uint8_t(inverse[cp]);
}

bool isJsWhitespace(char32_t cp)
{
    switch (cp) {
    case 0x09:
    case 0x0A:
    case 0x0B:
    case 0x0C:
    case 0x0D:
    case 0x20:
    case 0xA0:
    case 0x1680:
    case 0x2028:
    case 0x2029:
    case 0x202F:
    case 0x205F:
    case 0x3000:
    case 0xFEFF:
        return true;
    default:
        return cp >= 0x2000 && cp <= 0x200A;
    }
}

std::string_view trimStartJs(std::string_view s)
{
    size_t i = 0;
    while (i < s.size()) {
        size_t n = 0;
        if (!isJsWhitespace(decodeCodePoint(s, i, &n)))
            break;
        i += n;
    }
    return s.substr(i);
}

std::string_view trimEndJs(std::string_view s)
{
    size_t end = s.size();
    while (end > 0) {
        size_t start = end - 1;
        while (start > 0 && (uint8_t(s[start]) & 0xC0) == 0x80)
            --start;
        size_t n = 0;
        if (!isJsWhitespace(decodeCodePoint(s, start, &n)))
            break;
        end = start;
    }
    return s.substr(0, end);
}

namespace {

bool isAscii(std::string_view s)
{
    return std::all_of(s.begin(), s.end(), [](char c) { return uint8_t(c) < 0x80; });
}

// Runs an ICU function of the "preflight" kind: `fill(dest, capacity, &status)` returns the
// full length and reports U_BUFFER_OVERFLOW_ERROR when capacity was too small, in which case
// it is called again with an exact buffer. `guess` avoids the second call in common cases.
template <typename Char, typename Fill>
std::basic_string<Char> icuString(int32_t guess, Fill fill, const std::string& file,
                                  const std::string& object, const char* what)
{
    std::basic_string<Char> out(size_t(std::max(guess, 1)), Char(0));
    UErrorCode status = U_ZERO_ERROR;
    int32_t n = fill(out.data(), int32_t(out.size()), &status);
    if (status == U_BUFFER_OVERFLOW_ERROR) {
        out.assign(size_t(n), Char(0));
        status = U_ZERO_ERROR;
        n = fill(out.data(), n, &status);
    }
    if (U_FAILURE(status))
        throw Error(file, object, std::string(what) + " failed: " + u_errorName(status));
    out.resize(size_t(n));
    return out;
}

// UTF-16 never has more code units than the UTF-8 it came from has bytes, and the
// transforms used here grow text by a small factor, hence the margin below INT32_MAX.
std::u16string toUtf16(std::string_view text, const std::string& file, const std::string& object)
{
    if (text.size() > size_t(INT32_MAX / 4))
        throw Error(file, object,
                    "text of " + std::to_string(text.size()) +
                        " bytes is too long for Unicode normalization (limit " +
                        std::to_string(INT32_MAX / 4) + " bytes)");
    if (const auto bad = firstInvalidUtf8(text))
        throw Error(file, object, "invalid UTF-8 at byte " + std::to_string(*bad));
    const auto length = int32_t(text.size());
    return icuString<char16_t>(
        length,
        [&](char16_t* dest, int32_t capacity, UErrorCode* status) {
            int32_t n = 0;
            u_strFromUTF8(dest, capacity, &n, text.data(), length, status);
            return n;
        },
        file, object, "UTF-8 to UTF-16 conversion");
}

std::string toUtf8(const std::u16string& text, const std::string& file, const std::string& object)
{
    return icuString<char>(
        int32_t(std::min<size_t>(text.size() * 3, INT32_MAX)),
        [&](char* dest, int32_t capacity, UErrorCode* status) {
            int32_t n = 0;
            u_strToUTF8(dest, capacity, &n, text.data(), int32_t(text.size()), status);
            return n;
        },
        file, object, "UTF-16 to UTF-8 conversion");
}

const UNormalizer2* normalizerFor(NormalizationForm form, UErrorCode* status)
{
    switch (form) {
    case NormalizationForm::Nfc:
        return unorm2_getNFCInstance(status);
    case NormalizationForm::Nfd:
        return unorm2_getNFDInstance(status);
    case NormalizationForm::Nfkc:
        return unorm2_getNFKCInstance(status);
    case NormalizationForm::Nfkd:
        return unorm2_getNFKDInstance(status);
    }
    *status = U_ILLEGAL_ARGUMENT_ERROR;
    return nullptr;
}

} // namespace

std::string normalizeUnicode(std::string_view text, NormalizationForm form, const std::string& file,
                             const std::string& object)
{
    // ASCII is invariant under all four forms.
    if (isAscii(text))
        return std::string(text);
    UErrorCode status = U_ZERO_ERROR;
    const UNormalizer2* normalizer = normalizerFor(form, &status);
    if (U_FAILURE(status))
        throw Error(file, object,
                    std::string("cannot load ICU normalization data: ") + u_errorName(status));
    const std::u16string source = toUtf16(text, file, object);
    // Composed forms rarely change the length; decompositions add a few marks.
    const auto guess = int32_t(source.size() + source.size() / 4 + 16);
    const std::u16string result = icuString<char16_t>(
        guess,
        [&](char16_t* dest, int32_t capacity, UErrorCode* st) {
            return unorm2_normalize(normalizer, source.data(), int32_t(source.size()), dest,
                                    capacity, st);
        },
        file, object, "Unicode normalization");
    return toUtf8(result, file, object);
}

std::string lowercaseUnicode(std::string_view text, const std::string& file,
                             const std::string& object)
{
    if (isAscii(text)) {
        std::string out(text);
        for (char& c : out)
            if (c >= 'A' && c <= 'Z')
                c = char(c - 'A' + 'a');
        return out;
    }
    const std::u16string source = toUtf16(text, file, object);
    const std::u16string result = icuString<char16_t>(
        int32_t(source.size() + 16),
        [&](char16_t* dest, int32_t capacity, UErrorCode* status) {
            // "" is the root locale: no Turkish/Lithuanian tailoring, as in JavaScript.
            return u_strToLower(dest, capacity, source.data(), int32_t(source.size()), "", status);
        },
        file, object, "lowercasing");
    return toUtf8(result, file, object);
}

struct Regex::Code {
    pcre2_code* code = nullptr;
    ~Code() { pcre2_code_free(code); }
};

Regex::Regex(const std::string& pattern, const std::string& file, const std::string& object)
    : m_code(std::make_unique<Code>()), m_file(file), m_object(object)
{
    int errorCode = 0;
    PCRE2_SIZE errorOffset = 0;
    m_code->code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(),
                                 PCRE2_UTF | PCRE2_UCP, &errorCode, &errorOffset, nullptr);
    if (!m_code->code) {
        PCRE2_UCHAR message[256];
        pcre2_get_error_message(errorCode, message, sizeof message);
        throw Error(file, object,
                    "cannot compile regex '" + pattern + "' at offset " +
                        std::to_string(errorOffset) + ": " +
                        reinterpret_cast<const char*>(message));
    }
    // JIT is only a speed-up; the interpreter gives the same matches when it is unavailable.
    pcre2_jit_compile(m_code->code, PCRE2_JIT_COMPLETE);
}

Regex::~Regex() = default;
Regex::Regex(Regex&&) noexcept = default;
Regex& Regex::operator=(Regex&&) noexcept = default;

std::vector<std::pair<size_t, size_t>> Regex::findAll(std::string_view subject) const
{
    std::vector<std::pair<size_t, size_t>> matches;
    std::unique_ptr<pcre2_match_data, decltype(&pcre2_match_data_free)> data(
        pcre2_match_data_create_from_pattern(m_code->code, nullptr), &pcre2_match_data_free);
    const auto* text = reinterpret_cast<PCRE2_SPTR>(subject.data());
    size_t offset = 0;
    while (offset <= subject.size()) {
        const int rc = pcre2_match(m_code->code, text, subject.size(), offset, PCRE2_NO_UTF_CHECK,
                                   data.get(), nullptr);
        if (rc == PCRE2_ERROR_NOMATCH)
            break;
        if (rc < 0) {
            PCRE2_UCHAR message[256];
            pcre2_get_error_message(rc, message, sizeof message);
            throw Error(m_file, m_object,
                        std::string("regex match failed: ") +
                            reinterpret_cast<const char*>(message));
        }
        const PCRE2_SIZE* ovector = pcre2_get_ovector_pointer(data.get());
        const size_t begin = ovector[0], end = ovector[1];
        matches.emplace_back(begin, end);
        if (end > begin) {
            offset = end;
        } else if (end >= subject.size()) {
            break;
        } else {
            size_t n = 0;
            decodeCodePoint(subject, end, &n);
            offset = end + n;
        }
    }
    return matches;
}

} // namespace ptq::text

#pragma once
// Internals shared by the zero-shot evaluation (zeroshot.cpp) and its task files
// (zeroshot_tasks.cpp). Not part of the public API.

namespace ptq::detail {

// Python's str.strip()/rstrip() whitespace, restricted to ASCII: the presets' prompts and
// lm-eval's trailing-space move only ever meet these.
inline bool isSpace(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

} // namespace ptq::detail

#pragma once
// The one exception type of the engine: every recoverable failure inside core/ throws it,
// naming the file, the object inside it (a tensor, a JSON key, a line) and the reason.
// The engine boundary (CLI main, UI job runner) catches it and reports what() verbatim.

#include <stdexcept>
#include <string>

namespace ptq {

class Error : public std::runtime_error {
public:
    Error(std::string file, std::string object, std::string reason);

    const std::string& file() const { return m_file; }
    const std::string& object() const { return m_object; }
    const std::string& reason() const { return m_reason; }

private:
    std::string m_file;
    std::string m_object;
    std::string m_reason;
};

} // namespace ptq

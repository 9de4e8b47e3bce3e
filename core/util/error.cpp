#include "util/error.h"

namespace ptq {

namespace {
std::string compose(const std::string& file, const std::string& object, const std::string& reason)
{
    std::string msg;
    if (!file.empty())
        msg += file;
    if (!object.empty())
        msg += (msg.empty() ? "" : ": ") + object;
    msg += (msg.empty() ? "" : ": ") + reason;
    return msg;
}
} // namespace

Error::Error(std::string file, std::string object, std::string reason)
    : std::runtime_error(compose(file, object, reason)), m_file(std::move(file)),
      m_object(std::move(object)), m_reason(std::move(reason))
{}

} // namespace ptq

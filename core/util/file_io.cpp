#include "util/file_io.h"

#include "util/error.h"

#include <fstream>
#include <iterator>

namespace ptq {

std::string readFileBytes(const std::string& path, const std::string& object)
{
    std::ifstream in(path, std::ios::binary);
    if (!in)
        throw Error(path, object, "cannot open it for reading");
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (in.bad())
        throw Error(path, object, "read error");
    return bytes;
}

nlohmann::json readJsonFile(const std::string& path, const std::string& object)
{
    const std::string bytes = readFileBytes(path, object);
    try {
        return nlohmann::json::parse(bytes);
    } catch (const nlohmann::json::exception& e) {
        throw Error(path, object, std::string("not valid JSON: ") + e.what());
    }
}

} // namespace ptq

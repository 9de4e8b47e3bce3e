#include "model/llama.h"

namespace ptq {} // namespace ptq

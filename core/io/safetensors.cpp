#include "io/safetensors.h"

namespace ptq {} // namespace ptq

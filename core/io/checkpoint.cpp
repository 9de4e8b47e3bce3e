#include "io/checkpoint.h"

namespace ptq {} // namespace ptq

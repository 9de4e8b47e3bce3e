#include "model/config.h"

namespace ptq {} // namespace ptq

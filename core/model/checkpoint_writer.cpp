#include "model/checkpoint_writer.h"

namespace ptq {} // namespace ptq

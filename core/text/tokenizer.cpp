#include "text/tokenizer.h"

namespace ptq {} // namespace ptq

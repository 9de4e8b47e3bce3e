#include "eval/perplexity.h"

namespace ptq {} // namespace ptq

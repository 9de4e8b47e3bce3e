#include "text/tokenizer_writer.h"

namespace ptq {} // namespace ptq

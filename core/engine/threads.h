#pragma once
// Thread settings of the engine. libtorch defaults to one intra-op thread on this
// platform and OpenBLAS runs its own GEMM threads; oversubscribing both was measured
// slower, so the count is one setting applied to both.

namespace ptq {

// Applies n intra-op threads to libtorch (and, through it, to OpenMP/OpenBLAS).
// n <= 0 picks the default: the number of physical cores visible to the process.
void setEngineThreads(int n);
int engineThreads();

// The libtorch version the engine was built against, e.g. "2.6.0", for about boxes and logs.
const char* torchVersion();

} // namespace ptq

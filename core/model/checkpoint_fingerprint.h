#pragma once
// The identity of a checkpoint folder, recorded with every run: two folders with the same
// config and tensors are the same model wherever they lie.

#include <string>

namespace ptq {

// sha256 over config.json's canonical JSON and, for every tensor in name order, its name,
// dtype, shape and a sha256 of its bytes. Hashing reads every byte (tens of seconds for a 7B
// checkpoint), so the result is kept for the life of the process, keyed by the folder and
// the name, size and modification time (ns) of each of its .json and .safetensors files:
// rewriting a file, or touching it, hashes again.
std::string checkpointFingerprint(const std::string& modelDir);

} // namespace ptq

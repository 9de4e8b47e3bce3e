#!/usr/bin/env bash
# The cross-architecture comparison in resources/models/README.md: the Mixture-of-Experts
# member ptq-mixtral-11m and the dense member of equal active parameters, ptq-llama-3.9m,
# each quantized by the five strategy classes' representatives at W4/W3/W2 (group 128), into
# one results store, then printed as the README's table.
#
# Usage: resources/models/moe_comparison.sh WORKDIR [PTQBENCH]
#   WORKDIR   holds splits/ from train_family.sh (or this script makes them) and gets
#             moe_sweep.json and moe_comparison.db
# The sweep is resumable: rerun the script after an interruption and finished runs are kept.
set -euo pipefail
src=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
work=${1:?usage: $0 WORKDIR [PTQBENCH]}
bench=${2:-$src/build/app/ptqbench}
threads=${PTQ_THREADS:-0}
mkdir -p "$work"
if [ ! -f "$work/splits/test.txt" ]; then
    "$src/cmake/fetch_corpora.sh" "$work/corpora"
    "$bench" corpus --fetched "$work/corpora" --out "$work/splits"
fi
models=$src/resources/models
cat > "$work/moe_sweep.json" <<JSON
{"models": ["$models/ptq-llama-3.9m", "$models/ptq-mixtral-11m"],
 "recipes": ["rtn", "gptq", "awq", "quarot-gptq", "omniquant"],
 "wbits": [4, 3, 2], "groups": [128],
 "calib": {"path": "$work/splits/train.txt", "samples": 32, "seqlen": 256},
 "eval": {"texts": ["$work/splits/test.txt"], "seqlen": 256, "windows": 250},
 "seed": 0, "threads": $threads}
JSON
"$bench" sweep "$work/moe_sweep.json" --db "$work/moe_comparison.db"
"$bench" runs list --db "$work/moe_comparison.db"

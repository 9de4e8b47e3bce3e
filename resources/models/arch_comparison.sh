#!/usr/bin/env bash
# The cross-architecture comparisons in resources/models/README.md: a member of another
# architecture next to the dense member of matching size, each quantized by the strategy
# classes' representatives (RTN, GPTQ, AWQ, QuaRot+GPTQ, OmniQuant) at W4/W3/W2 (group 128),
# into one results store, then listed.
#   moe    ptq-mixtral-11m next to ptq-llama-3.9m (equal active parameters)
#   mamba  ptq-mamba-0.7m next to ptq-llama-0.7m (equal parameters)
#
# Usage: resources/models/arch_comparison.sh WORKDIR moe|mamba [PTQBENCH]
#   WORKDIR   holds splits/ from train_family.sh (or this script makes them) and gets
#             SET_sweep.json and SET_comparison.db
#   PTQ_THREADS (environment) engine threads per run (default: all cores)
#   PTQ_RECIPES (environment) the recipes, comma-separated (default: all five)
# The sweep is resumable: rerun the script after an interruption and finished runs are kept.
set -euo pipefail
src=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
work=${1:?usage: $0 WORKDIR moe|mamba [PTQBENCH]}
set=${2:?usage: $0 WORKDIR moe|mamba [PTQBENCH]}
bench=${3:-$src/build/app/ptqbench}
threads=${PTQ_THREADS:-0}
recipes=${PTQ_RECIPES:-rtn,gptq,awq,quarot-gptq,omniquant}
models=$src/resources/models
case $set in
moe) pair="\"$models/ptq-llama-3.9m\", \"$models/ptq-mixtral-11m\"" ;;
mamba) pair="\"$models/ptq-llama-0.7m\", \"$models/ptq-mamba-0.7m\"" ;;
*) echo "unknown comparison '$set' (moe or mamba)" >&2; exit 2 ;;
esac
mkdir -p "$work"
if [ ! -f "$work/splits/test.txt" ]; then
    "$src/cmake/fetch_corpora.sh" "$work/corpora"
    "$bench" corpus --fetched "$work/corpora" --out "$work/splits"
fi
cat > "$work/${set}_sweep.json" <<JSON
{"models": [$pair],
 "recipes": ["${recipes//,/\", \"}"],
 "wbits": [4, 3, 2], "groups": [128],
 "calib": {"path": "$work/splits/train.txt", "samples": 32, "seqlen": 256},
 "eval": {"texts": ["$work/splits/test.txt"], "seqlen": 256, "windows": 250},
 "seed": 0, "threads": $threads}
JSON
"$bench" sweep "$work/${set}_sweep.json" --db "$work/${set}_comparison.db"
"$bench" runs list --db "$work/${set}_comparison.db"

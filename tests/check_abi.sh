#!/bin/sh
# Compares the built library's ABI with the recorded baseline (abi/libigd.so.1.abi) using
# libabigail's abidiff. Additions are fine; an incompatible change (abidiff's bit 8) fails.
# Record a new baseline only together with a soname bump:
#   abidw --headers-dir include/igd --no-corpus-path build/lib/libigd.so.1.0.0 > abi/libigd.so.1.abi
set -u
lib=$1
baseline=$2
headers=$3
if ! command -v abidiff >/dev/null 2>&1; then
    echo "abidiff (Debian's abigail-tools) is not installed: skipped"
    exit 77
fi
abidiff --headers-dir1 "$headers" --headers-dir2 "$headers" "$baseline" "$lib"
rc=$?
if [ $((rc & 8)) -ne 0 ]; then
    echo "incompatible ABI change against $baseline"
    exit 1
fi
if [ $((rc & 3)) -ne 0 ]; then
    echo "abidiff failed ($rc)"
    exit 1
fi
echo "ABI compatible with the baseline (abidiff status $rc)"

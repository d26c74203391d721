#!/bin/sh
# Builds the installable static library: all objects linked into one relocatable object whose
# only global symbols are the public igd_ functions the header declares, so that the internal
# functions of libigd can never clash with an application's symbols.
#   make-static.sh OUTPUT.a HEADER OBJECT...
set -eu
out=$1
header=$2
shift 2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
grep -oE '\bigd_[a-z0-9_]+\(' "$header" | tr -d '(' | sort -u > "$tmp/public"
ld -r -o "$tmp/igd.o" "$@"
objcopy --keep-global-symbols="$tmp/public" "$tmp/igd.o"
rm -f "$out"
ar rcs "$out" "$tmp/igd.o"

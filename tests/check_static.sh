#!/bin/sh
# The static library defines no global symbol outside the igd_ prefix.
set -eu
bad=$(nm "$1" | awk '$2 ~ /^[TDBRVWC]$/ {print $3}' | grep -v '^igd_' || true)
if [ -n "$bad" ]; then
    echo "global symbols without the igd_ prefix in $1:"; echo "$bad" | head -20; exit 1
fi
echo "$(nm "$1" | awk '$2 == "T" {print $3}' | wc -l) public functions, no other globals"

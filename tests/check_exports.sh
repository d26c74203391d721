#!/bin/sh
# Checks that the shared library exports exactly the functions the public header declares.
set -eu
lib=$1
header=$2
exported=$(nm -D --defined-only "$lib" | awk '$2 ~ /^[TDBRVW]$/ {print $3}' | sed 's/@.*//' | sort -u)
declared=$(grep -oE '\bigd_[a-z0-9_]+\(' "$header" | tr -d '(' | sort -u)
status=0
for s in $exported; do
    case $s in
    igd_*) ;;
    *) echo "exported symbol without the igd_ prefix: $s"; status=1; continue ;;
    esac
    echo "$declared" | grep -qx "$s" || { echo "exported but not in the header: $s"; status=1; }
done
for s in $declared; do
    echo "$exported" | grep -qx "$s" || { echo "declared but not exported: $s"; status=1; }
done
soname=$(objdump -p "$lib" | awk '$1 == "SONAME" {print $2}')
case $soname in
libigd.so.[0-9]*) ;;
*) echo "unexpected soname: $soname"; status=1 ;;
esac
[ $status -eq 0 ] && echo "$(echo "$exported" | wc -l) symbols exported, soname $soname"
exit $status

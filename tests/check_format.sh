#!/bin/sh
# The C sources follow the repository's .clang-format: runs clang-format (the program given) in
# dry-run mode over every .c/.h file under the folders given, prints what differs and exits 1 if
# anything does. Template headers (*.in) are not C until meson fills them, so they are skipped.
set -eu
clang_format=${1:?usage: check_format.sh CLANG_FORMAT FOLDER...}
shift
status=0
for f in $(find "$@" -name '*.c' -o -name '*.h' -o -name '*.cpp' | sort); do
    "$clang_format" --dry-run --Werror "$f" || status=1
done
[ "$status" = 0 ] && echo "source-format: every C file is formatted"
exit $status

#!/bin/sh
# The library never aborts, exits, asserts, or writes to stdout/stderr (docs/internals.md):
# searches the C sources under the folder given (lib/) with comments and string literals removed.
# static_assert is allowed (it checks the code, not data); a call through a struct member of one of
# these names counts too, so none is named so. Prints each offending line; exits 1
# if there is any.
set -eu
root=${1:?usage: check_lib_source.sh LIB_FOLDER}
status=0
for f in $(find "$root" -name '*.c' -o -name '*.h' | sort); do
    hits=$(perl -0777 -ne '
        s{/\*.*?\*/}{ my $c = $&; $c =~ tr/\n//cd; $c }gse;   # comments, keeping line breaks
        s{//[^\n]*}{}g;
        s{"(?:\\.|[^"\\\n])*"}{""}g;                           # string literals
        s{\x27(?:\\.|[^\x27\\\n])*\x27}{0}g;                   # character literals
        my $n = 0;
        for my $line (split /\n/, $_, -1) {
            $n++;
            if ($line =~ /(?<!\w)(abort|exit|_exit|_Exit|quick_exit|assert|printf|vprintf|puts|putchar|perror|err|errx|warn|warnx)\s*\(/
                || $line =~ /\b(stdout|stderr)\b/
                || $line =~ /\b(write|dprintf)\s*\(\s*(1|2|STDOUT_FILENO|STDERR_FILENO)\s*,/) {
                print "$n: $line\n";
            }
        }' "$f")
    if [ -n "$hits" ]; then
        echo "$hits" | sed "s|^|$f:|"
        status=1
    fi
done
if [ "$status" = 0 ]; then
    echo "library-source-rules: no abort, exit, assert or stdout/stderr output in $root"
fi
exit $status

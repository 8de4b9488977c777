#!/bin/bash
# Includes go down only. src/ is in layers, lowest first:
#   util -> config -> sys -> table, firewalls -> engine -> cli
# A file may include headers of its own layer and of lower ones, never of a higher one;
# table and firewalls, side by side, never include each other. Every project header is
# named with its folder ("sys/kernel.h"), so the include line says which layer it is.
set -u
src=${SOURCE_ROOT:?}/src
rank() {
    case $1 in
        util) echo 0 ;; config) echo 1 ;; sys) echo 2 ;; table | firewalls) echo 3 ;;
        engine) echo 4 ;; cli) echo 5 ;; *) echo -1 ;;
    esac
}
bad=0 checked=0
while IFS= read -r file; do
    from=${file#"$src"/}
    from=${from%%/*}
    [ "$(rank "$from")" -ge 0 ] || { echo "FAIL $file: not in a layer's folder"; bad=$((bad + 1)); continue; }
    while IFS= read -r line; do
        header=$(sed -n 's/^#include "\([^"]*\)".*/\1/p' <<<"$line")
        to=${header%%/*}
        checked=$((checked + 1))
        if [ "$to" = "$header" ] || [ "$(rank "$to")" -lt 0 ]; then
            echo "FAIL $file: '$header' does not name its layer's folder"
            bad=$((bad + 1))
        elif [ "$(rank "$to")" -gt "$(rank "$from")" ] ||
            { [ "$(rank "$to")" -eq "$(rank "$from")" ] && [ "$to" != "$from" ]; }; then
            echo "FAIL $file: $from includes $header, of layer $to above or beside it"
            bad=$((bad + 1))
        fi
    done < <(grep '^#include "' "$file")
done < <(find "$src" -name '*.[ch]' | sort)
echo "layers: $checked includes checked, $bad wrong"
[ "$bad" -eq 0 ] && [ "$checked" -gt 0 ]

#!/bin/sh
# The highest GLIBC_ symbol version required by any ELF file under DIR (the bundle's glibc floor).
#   sh installer/glibc-floor.sh dist/yijianshi-intake      -> e.g. 2.35
set -eu
find "$1" -type f | while read -r f; do
    if [ "$(head -c 4 "$f" | od -An -c | tr -d ' ')" = '177ELF' ]; then
        objdump -T "$f" 2>/dev/null | grep -o 'GLIBC_[0-9][0-9.]*' || true
    fi
done | sed 's/GLIBC_//' | sort -Vu | tail -1

#!/usr/bin/env bash
# bench/indexmem.sh - the index micro-benchmark (bench/indexmem.c) at 1 and
# 10 million blobs, in memory and with the mapped file, best of 3 runs each:
# ns per insert / present lookup / absent lookup / present lookup in random
# order, heap and peak RSS per blob.
#   bench/indexmem.sh [BUILD_DIR] [BLOB_COUNTS...]
# INDEX_C=old-index.c links that index.c instead of the built one (to compare
# against an earlier version: git show REV:src/index/index.c >old-index.c).
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
shift || true
counts=("${@:-1000000 10000000}")
exe=$build/indexmem${INDEX_C:+-other}
cc -O2 -Isrc -D_GNU_SOURCE bench/indexmem.c ${INDEX_C:-} "$build/liblifeboat.a" -o "$exe"
for n in ${counts[@]}; do
    for mode in off default; do
        best=""
        for _ in 1 2 3; do
            if [ "$mode" = off ]; then
                out=$(LIFEBOAT_INDEX_MMAP_BLOBS=off /usr/bin/time -v "$exe" "$n" 2>&1)
            else
                out=$(/usr/bin/time -v "$exe" "$n" 2>&1)
            fi
            line=$(awk '/^insert/{i=$2} /^present/{p=$2} /^absent/{a=$2} /^random/{x=$2} /^heap/{h=$2}
                /Maximum resident/{r=$6} END{printf "%s %s %s %s %.1f %s", i, p, a, h, r*1024/'"$n"', x}' <<<"$out")
            # keep the run with the fastest lookups
            if [ -z "$best" ] || awk -v a="$line" -v b="$best" 'BEGIN{split(a,x," ");split(b,y," ");exit !(x[2]+x[3]<y[2]+y[3])}'; then
                best=$line
            fi
        done
        read -r ins pres abs heap rss rnd <<<"$best"
        printf 'n=%-9s mmap=%-7s insert %6s  present %6s  absent %6s  random %6s ns/op  heap %5s B/blob  peak RSS %5s B/blob\n' \
            "$n" "$mode" "$ins" "$pres" "$abs" "$rnd" "$heap" "$rss"
    done
done

#!/bin/bash -eu
# SPDX-License-Identifier: BSD-3-Clause
# Build the vdm fuzz targets the OSS-Fuzz way: compiler and flags come from
# $CC, $CFLAGS and $LIB_FUZZING_ENGINE, fuzzers are linked with $CXX and
# land in $OUT with their seed corpus (<target>_seed_corpus.zip) and
# dictionary (<target>.dict). Works in the base-builder image (repository
# at $SRC/vdm, see fuzz/Dockerfile) and locally (./scripts/fuzz).
#
#   CC=clang CXX=clang++ CFLAGS="-fsanitize=address,fuzzer-no-link" \
#   LIB_FUZZING_ENGINE=-fsanitize=fuzzer OUT=/tmp/out fuzz/build.sh

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
if [ -f "$here/fuzz_util.h" ]; then
  root=$(dirname "$here")
elif [ -f "$PWD/fuzz/fuzz_util.h" ]; then
  root=$PWD
else
  root=${SRC:?}/vdm
fi

CC=${CC:-clang}
CXX=${CXX:-clang++}
CFLAGS=${CFLAGS:-}
LIB_FUZZING_ENGINE=${LIB_FUZZING_ENGINE:--fsanitize=fuzzer}
OUT=${OUT:?set OUT to the output directory}
obj=${WORK:-/tmp}/vdm-fuzz-obj
rm -rf "$obj"
mkdir -p "$obj/lib" "$obj/drv" "$obj/fuzz" "$OUT"

# name source definition, one a line (fuzz/targets.txt, shared with
# fuzz/CMakeLists.txt and scripts/fuzz)
targets=$(grep '^[a-z]' "$root/fuzz/targets.txt")

# The library as it ships: freestanding C11, hidden visibility.
for src in "$root"/src/*.c "$root"/transports/*.c "$root"/devices/*.c; do
  $CC $CFLAGS -std=c11 -ffreestanding -fno-common -fvisibility=hidden \
    -DVDM_BUILDING -I"$root/include" -I"$root/src" \
    -c "$src" -o "$obj/lib/$(basename "${src%.c}").o"
done
# The driver simulator and the shared harness code.
common=(-std=c11 -D_GNU_SOURCE -I"$root/include" -I"$root/tests/driver"
        -I"$root/fuzz")
for src in "$root"/tests/driver/*.c; do
  $CC $CFLAGS "${common[@]}" -c "$src" -o "$obj/drv/$(basename "${src%.c}").o"
done
# The harness and the device plug-ins (dev_<t>.c).
for src in "$root"/fuzz/fuzz_mem.c "$root"/fuzz/fuzz_dev.c "$root"/fuzz/dev_*.c; do
  $CC $CFLAGS "${common[@]}" -c "$src" -o "$obj/fuzz/fuzz_$(basename "${src%.c}").o"
done

while read -r name src def; do
  $CC $CFLAGS "${common[@]}" -D"$def" -c "$root/fuzz/$src" \
    -o "$obj/fuzz/target_$name.o"
  $CXX $CFLAGS "$obj/fuzz/target_$name.o" "$obj"/fuzz/fuzz_*.o \
    "$obj"/drv/*.o "$obj"/lib/*.o $LIB_FUZZING_ENGINE -o "$OUT/fuzz_$name"
  rm -f "$OUT/fuzz_${name}_seed_corpus.zip"
  (cd "$root/fuzz/corpus/$name" && zip -q -X "$OUT/fuzz_${name}_seed_corpus.zip" ./*)
  cp "$root/fuzz/dict/$name.dict" "$OUT/fuzz_$name.dict"
done <<< "$targets"
echo "built $(wc -l <<< "$targets") fuzz targets in $OUT"

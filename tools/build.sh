#!/usr/bin/env bash
# Configures and builds SoulDiffuser Studio into build/ (Ninja, ccache when present).
# Usage: tools/build.sh [extra CMake options...]
#   -DSOUL_SANITIZE=ON (with SOUL_BUILD_DIR=build-sanitize): the readers and their tests under
#   ASan + UBSan (docs/reliability.md); tools/test-sanitized.sh builds and runs that tree.
# SOUL_BUILD_DIR picks the build folder (default build), SOUL_BUILD_JOBS the parallel jobs.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${SOUL_BUILD_DIR:-build}
# Let ccache reuse objects built with precompiled headers.
export CCACHE_SLOPPINESS=${CCACHE_SLOPPINESS:-pch_defines,time_macros,include_file_mtime,include_file_ctime}
export CCACHE_MAXSIZE=${CCACHE_MAXSIZE:-5G}
if [ ! -f "$BUILD_DIR/CMakeCache.txt" ]; then
  cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@" >/dev/null
elif [ $# -gt 0 ]; then
  cmake -S . -B "$BUILD_DIR" "$@" >/dev/null
fi
cmake --build "$BUILD_DIR" -j"${SOUL_BUILD_JOBS:-$(nproc)}"

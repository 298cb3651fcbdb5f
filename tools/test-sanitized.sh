#!/usr/bin/env bash
# Builds the readers (core/io, core/data), their test suites and the fuzz-corpus replay under
# AddressSanitizer + UndefinedBehaviorSanitizer, and runs them (docs/reliability.md). The normal
# suite runs this as the `readers_sanitized` test; it can also be run on its own.
# Usage: tools/test-sanitized.sh [BUILD_DIR]   (default build-sanitize)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
BUILD_DIR=${1:-build-sanitize}
SOUL_BUILD_DIR=$BUILD_DIR tools/build.sh -DSOUL_SANITIZE=ON
cd "$BUILD_DIR"
# Leaks are reported too; a finding of either sanitizer ends the test with its report.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:strict_string_checks=1}
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$ROOT/tests/fuzz/lsan.supp}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
ctest --output-on-failure -j"${SOUL_BUILD_JOBS:-$(nproc)}"

#!/usr/bin/env bash
# Installs what is needed, builds, and runs the whole test suite (ctest; GUI tests under Xvfb).
set -euo pipefail
cd "$(dirname "$0")/.."
tools/setup.sh
tools/build.sh
cd "${SOUL_BUILD_DIR:-build}"
ctest --output-on-failure -j"$(nproc)"

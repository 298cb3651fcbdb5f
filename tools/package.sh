#!/usr/bin/env bash
# Builds the Debian package souldiffuser-studio_<version>_amd64.deb into out/ (docs/install.md).
# Install it with: apt-get install ./out/souldiffuser-studio_<version>_amd64.deb
set -euo pipefail
cd "$(dirname "$0")/.."
tools/setup.sh
tools/build.sh
BUILD_DIR=${SOUL_BUILD_DIR:-build}
mkdir -p out
cpack --config "$BUILD_DIR/CPackConfig.cmake" -B "$PWD/out/package" >/dev/null
rm -rf out/package/_CPack_Packages
mv out/package/souldiffuser-studio_*_amd64.deb out/
rmdir out/package 2>/dev/null || true
ls out/souldiffuser-studio_*_amd64.deb

#!/usr/bin/env bash
# Downloads Debian 13's LibTorch 2.6 headers (libtorch-dev) into a private folder, for
# tools/check-libtorch2.sh. Nothing is installed: apt works on a private state folder and the
# package is unpacked with dpkg -x. Debian 13's libraries need a newer glibc than Debian 12's, so
# the headers serve for compiling only, not linking. Idempotent; prints the folder.
# Usage: tools/fetch-libtorch2-headers.sh [DIR]   (default: $SOUL_LIBTORCH2_DIR or ~/.cache/souldiffuser/libtorch-2.6)
set -euo pipefail
HOME_DIR=${HOME:-$(getent passwd "$(id -u)" | cut -d: -f6)}
DIR=${1:-${SOUL_LIBTORCH2_DIR:-${XDG_CACHE_HOME:-$HOME_DIR/.cache}/souldiffuser/libtorch-2.6}}
VERSION_H="$DIR/usr/include/torch/csrc/api/include/torch/version.h"
if [ -f "$VERSION_H" ]; then
  echo "$DIR"
  exit 0
fi
state=$(mktemp -d)
trap 'rm -rf "$state"' EXIT
mkdir -p "$state/lists/partial" "$state/cache/archives/partial" "$state/debs"
echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian trixie main" >"$state/sources.list"
apt_opts=(-o "Dir::State::Lists=$state/lists" -o "Dir::Etc::SourceList=$state/sources.list" -o Dir::Etc::SourceParts=/dev/null
          -o "Dir::Cache=$state/cache" -o Dir::State::status=/dev/null -o Debug::NoLocking=1 -o APT::Sandbox::User=root -qq)
apt-get "${apt_opts[@]}" update >/dev/null
(cd "$state/debs" && apt-get "${apt_opts[@]}" download libtorch-dev >/dev/null)
mkdir -p "$DIR.partial"
dpkg -x "$state"/debs/libtorch-dev_*.deb "$DIR.partial"
[ -f "$DIR.partial/usr/include/torch/csrc/api/include/torch/version.h" ] || { echo "fetch-libtorch2-headers: libtorch-dev has no torch/version.h" >&2; exit 1; }
rm -rf "$DIR"
mv "$DIR.partial" "$DIR"
echo "$DIR"

#!/usr/bin/env bash
# Installs every Debian package SoulDiffuser Studio needs to build, run, test and benchmark.
# Idempotent: when everything is already installed it prints nothing and exits 0.
set -euo pipefail

PACKAGES=(
  # toolchain
  build-essential cmake ninja-build ccache pkg-config git
  # GUI: Qt 6 and VTK 9 (VTK's own Qt module is Qt 5 and is not used)
  qt6-base-dev libqt6opengl6-dev qt6-svg-dev libqcustomplot-dev libvtk9-dev
  # engine: ITK (NIfTI), LibTorch (CPU), BLAS that LibTorch uses for speed
  libinsighttoolkit5-dev libtorch-dev libopenblas0-pthread
  # multi-process training: the Gloo headers behind LibTorch's c10d ProcessGroupGloo
  libgloo-dev
  # small libraries
  libspdlog-dev libfmt-dev nlohmann-json3-dev libhdf5-dev libmatio-dev libcli11-dev libbenchmark-dev
  zlib1g-dev libpng-dev
  # Unicode for the CLIP and BERT tokenizers (core/text)
  libicu-dev
  # data: Colin27 + AAL (mricron-data), Fashion-MNIST (phantom stimuli)
  mricron-data dataset-fashion-mnist
  # display for GUI tests and headless screenshots
  xvfb xauth libgl1-mesa-dri
  # the Debian package: building it, its man pages and icons, and checking it (tools/package.sh)
  dpkg-dev fakeroot help2man librsvg2-bin lintian desktop-file-utils appstream
  # fuzzing the readers (tools/fuzz.sh): clang and its libFuzzer/sanitizer runtimes
  clang libclang-rt-dev
  # benchmarks compare against these
  python3-nibabel python3-numpy python3-h5py python3-torch
  # the NSD metrics' reference checks: torchvision's networks and scikit-image's SSIM
  python3-torchvision python3-skimage
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
# LibTorch 2.x headers (Debian 13's, unpacked into a private folder, never installed) for the
# libtorch2_api test, which compiles the engine against them.
fetch_libtorch2() { "$(dirname "$0")/fetch-libtorch2-headers.sh" >/dev/null; }

if [ ${#missing[@]} -eq 0 ]; then
  fetch_libtorch2
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  SUDO=sudo
else
  SUDO=
fi
echo "setup: installing ${#missing[@]} Debian packages: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fetch_libtorch2
echo "setup: done"

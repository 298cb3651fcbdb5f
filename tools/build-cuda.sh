#!/usr/bin/env bash
# Builds the engine, the CLI and the engine benchmarks (no studio) against a CUDA LibTorch, on a
# machine that may have neither apt nor a network: a GPU machine with a pip PyTorch (LibTorch
# inside), the CUDA toolkit, CMake, Ninja and a compiler. The Debian libraries the engine needs
# (ITK, HDF5, matio, spdlog, fmt, nlohmann-json, CLI11, png, zlib) come from a bundle made
# beforehand on Debian 12 by tools/make-deps-bundle.sh; the phantom's data files come with it.
#
# Usage: tools/build-cuda.sh [--deps BUNDLE] [--torch DIR] [--build DIR] [--prefix DIR] [--jobs N]
#   --deps BUNDLE  the folder tools/make-deps-bundle.sh wrote (deps.tar.xz, data/); without it the
#                  system's libraries are used (a Debian 12 machine with tools/setup.sh's packages)
#   --torch DIR    LibTorch: an unpacked LibTorch zip (DIR/share/cmake/Torch), or Torch's CMake
#                  folder itself; default: the pip torch of python3 (torch.utils.cmake_prefix_path)
#   --build DIR    build folder (default build-cuda)
#   --prefix DIR   where the bundle's libraries are unpacked (default BUILD/deps)
#   --jobs N       parallel compile jobs (default: the cores)
# Writes BUILD/bin/souldiffuser and BUILD/bin/bench_*, and BUILD/sd: the CLI with the bundle's
# libraries and data found (LD_LIBRARY_PATH, SOUL_MRICRON_DIR, SOUL_FASHION_MNIST_DIR) — run
# `BUILD/sd env` to see the GPU it found. C++17 or C++20 is chosen by CMakeLists.txt from
# LibTorch's version; TORCH_CUDA_ARCH_LIST defaults to the GPUs nvidia-smi lists.
set -euo pipefail
cd "$(dirname "$0")/.."
SRC=$(pwd)
DEPS="" TORCH="" BUILD=build-cuda PREFIX="" JOBS=$(nproc)
while [ $# -gt 0 ]; do
  case "$1" in
    --deps) DEPS=$2; shift 2;;
    --torch) TORCH=$2; shift 2;;
    --build) BUILD=$2; shift 2;;
    --prefix) PREFIX=$2; shift 2;;
    --jobs) JOBS=$2; shift 2;;
    -h|--help) sed -n '2,22p' "$0" | sed 's/^# \{0,1\}//'; exit 0;;
    *) echo "build-cuda: unknown option $1 (see --help)" >&2; exit 2;;
  esac
done
die() { echo "build-cuda: $*" >&2; exit 1; }
for t in cmake python3 tar; do command -v "$t" >/dev/null || die "needs $t on PATH"; done
mkdir -p "$BUILD"
BUILD=$(cd "$BUILD" && pwd)

# ---- LibTorch ---------------------------------------------------------------------------------
if [ -z "$TORCH" ]; then
  TORCH=$(python3 -c 'import torch.utils; print(torch.utils.cmake_prefix_path)' 2>/dev/null) ||
    die "no --torch and python3 has no torch: give an unpacked LibTorch with --torch DIR"
fi
if [ -f "$TORCH/share/cmake/Torch/TorchConfig.cmake" ]; then TORCH_DIR="$TORCH/share/cmake/Torch"
elif [ -f "$TORCH/Torch/TorchConfig.cmake" ]; then TORCH_DIR="$TORCH/Torch"
elif [ -f "$TORCH/TorchConfig.cmake" ]; then TORCH_DIR="$TORCH"
else die "$TORCH holds no TorchConfig.cmake (an unpacked LibTorch, pip's torch/share/cmake, or the Torch CMake folder)"
fi
TORCH_DIR=$(cd "$TORCH_DIR" && pwd)
TORCH_LIB=$(cd "$TORCH_DIR/../../../lib" 2>/dev/null && pwd || true)   # <root>/share/cmake/Torch -> <root>/lib
echo "build-cuda: LibTorch from $TORCH_DIR"

# ---- the Debian libraries ---------------------------------------------------------------------
CMAKE_ARGS=(-G Ninja -DCMAKE_BUILD_TYPE=Release -DSOUL_BUILD_UI=OFF -DSOUL_BUILD_TESTS=OFF -DSOUL_BUILD_BENCH=ON
            -DTorch_DIR="$TORCH_DIR" -DCMAKE_POLICY_VERSION_MINIMUM=3.5)
command -v ninja >/dev/null || CMAKE_ARGS[1]="Unix Makefiles"
LIBDIRS=""
DATA=""
if [ -n "$DEPS" ]; then
  [ -f "$DEPS/deps.tar.xz" ] || die "$DEPS has no deps.tar.xz: make it with tools/make-deps-bundle.sh on Debian 12"
  DEPS=$(cd "$DEPS" && pwd)
  PREFIX=${PREFIX:-$BUILD/deps}
  mkdir -p "$PREFIX"
  PREFIX=$(cd "$PREFIX" && pwd)
  if [ ! -f "$PREFIX/.complete" ] || [ "$DEPS/deps.tar.xz" -nt "$PREFIX/.complete" ]; then
    echo "build-cuda: unpacking $DEPS/deps.tar.xz into $PREFIX"
    rm -rf "${PREFIX:?}/usr"
    if command -v xz >/dev/null; then tar -xJf "$DEPS/deps.tar.xz" -C "$PREFIX"
    else python3 -c 'import sys, tarfile; tarfile.open(sys.argv[1]).extractall(sys.argv[2])' "$DEPS/deps.tar.xz" "$PREFIX"; fi
    # Debian's CMake files name /usr/... (ITK's module files, targets' link lists and include
    # folders; spdlog's and fmt's relocation checks): point each quoted or listed /usr/ at the prefix.
    grep -rlIZ -E '["; (]/usr/' --include='*.cmake' "$PREFIX/usr/lib/cmake" "$PREFIX/usr/lib/x86_64-linux-gnu/cmake" "$PREFIX/usr/share/cmake" 2>/dev/null |
      xargs -0 -r sed -i -E "s#([\";[:space:](])/usr/#\\1$PREFIX/usr/#g"
    touch "$PREFIX/.complete"
  fi
  LIBDIRS="$PREFIX/usr/lib/x86_64-linux-gnu:$PREFIX/usr/lib"
  # ld finds what the prefix's libraries need (libcurl for HDF5, ...) through -rpath-link.
  LINKFLAGS="-Wl,-rpath-link,$PREFIX/usr/lib/x86_64-linux-gnu -Wl,-rpath-link,$PREFIX/usr/lib"
  CMAKE_ARGS+=(-DCMAKE_PREFIX_PATH="$PREFIX/usr" -DCMAKE_EXE_LINKER_FLAGS="$LINKFLAGS" -DCMAKE_SHARED_LINKER_FLAGS="$LINKFLAGS"
               -DCCACHE_PROGRAM=OFF
               # no h5cc in the prefix: FindHDF5 looks for the library and headers themselves
               -DHDF5_C_COMPILER_EXECUTABLE=/nonexistent/h5cc -DHDF5_CXX_COMPILER_EXECUTABLE=/nonexistent/h5c++)
  [ -d "$DEPS/data" ] && DATA="$DEPS/data"
fi

# ---- CUDA -------------------------------------------------------------------------------------
NVCC=$(command -v nvcc || ls /usr/local/cuda/bin/nvcc 2>/dev/null || ls -d /usr/local/cuda-*/bin/nvcc 2>/dev/null | tail -1 || true)
if [ -n "$NVCC" ]; then
  CUDA_ROOT=$(dirname "$(dirname "$NVCC")")
  CMAKE_ARGS+=(-DCMAKE_CUDA_COMPILER="$NVCC" -DCUDAToolkit_ROOT="$CUDA_ROOT" -DCUDA_TOOLKIT_ROOT_DIR="$CUDA_ROOT")
  if [ -z "${TORCH_CUDA_ARCH_LIST:-}" ] && command -v nvidia-smi >/dev/null; then
    TORCH_CUDA_ARCH_LIST=$(nvidia-smi --query-gpu=compute_cap --format=csv,noheader 2>/dev/null | sort -u | paste -sd ';' || true)
  fi
  [ -n "${TORCH_CUDA_ARCH_LIST:-}" ] && export TORCH_CUDA_ARCH_LIST
  echo "build-cuda: CUDA toolkit $CUDA_ROOT, architectures ${TORCH_CUDA_ARCH_LIST:-as Torch chooses}"
else
  echo "build-cuda: no nvcc found: a CPU LibTorch builds as usual; a CUDA one's CMake may ask for the toolkit"
fi

# ---- configure, build -------------------------------------------------------------------------
cmake -S "$SRC" -B "$BUILD" "${CMAKE_ARGS[@]}"
cmake --build "$BUILD" --target souldiffuser bench_encoders bench_generator bench_reconstruct -j "$JOBS"

# ---- the CLI with its libraries and data found ------------------------------------------------
{
  echo '#!/usr/bin/env bash'
  echo "# souldiffuser as built by tools/build-cuda.sh, with the bundle's libraries and data."
  paths=$(printf '%s\n' "$LIBDIRS" "$TORCH_LIB" | grep . | paste -sd: || true)
  [ -n "$paths" ] && echo "export LD_LIBRARY_PATH=\"$paths\${LD_LIBRARY_PATH:+:\$LD_LIBRARY_PATH}\""
  [ -n "$DATA" ] && echo "export SOUL_MRICRON_DIR=\"\${SOUL_MRICRON_DIR:-$DATA/mricron}\" SOUL_FASHION_MNIST_DIR=\"\${SOUL_FASHION_MNIST_DIR:-$DATA/fashion-mnist}\""
  echo "exec \"$BUILD/bin/\${SOUL_PROGRAM:-souldiffuser}\" \"\$@\""
} > "$BUILD/sd"
chmod +x "$BUILD/sd"
echo "build-cuda: built $BUILD/bin/souldiffuser; run it as $BUILD/sd (SOUL_PROGRAM=bench_encoders $BUILD/sd ... for a benchmark)"
"$BUILD/sd" env

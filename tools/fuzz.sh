#!/usr/bin/env bash
# Fuzzes the readers with libFuzzer (clang; docs/reliability.md, "Fuzzing").
#
#   tools/fuzz.sh [SECONDS] [TARGET...]   build, then fuzz each target for SECONDS (default 60);
#                                          targets: nifti mat hdf5 tables image weights prepared checkpoint
#                                          (default all; checkpoint where LibTorch is installed)
#   tools/fuzz.sh merge [TARGET...]       fold what fuzzing found into tests/fuzz/corpus, keeping
#                                          only inputs that add coverage (libFuzzer -merge=1)
#   tools/fuzz.sh seeds                   rewrite the seed corpora (tests/fuzz/corpus/*/seed-*)
#
# Each run starts from tests/fuzz/corpus/<target>/ and grows a working corpus in
# build-fuzz/corpus/<target>/ (the source tree is not touched). A crash is minimised into
# build-fuzz/crashes/<target>/ (emptied when the target's next run starts); once fixed, copy it to
# tests/fuzz/crashes/<target>/ so that the fuzz_replay suite runs it from then on. A summary per target goes to build-fuzz/fuzz-report.txt.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
FUZZ_DIR=${SOUL_FUZZ_BUILD_DIR:-build-fuzz}
ALL_TARGETS=(nifti mat hdf5 tables image weights prepared checkpoint)
RSS_LIMIT_MB=2048     # libFuzzer's default; the targets set a 256 MiB input memory budget
INPUT_TIMEOUT_S=10    # one input taking longer is reported as a hang (and kept as slow-unit-*)
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$ROOT/tests/fuzz/lsan.supp}

build() {
  export CCACHE_SLOPPINESS=${CCACHE_SLOPPINESS:-pch_defines,time_macros,include_file_mtime,include_file_ctime}
  if [ ! -f "$FUZZ_DIR/CMakeCache.txt" ]; then
    CC=clang CXX=clang++ cmake -S . -B "$FUZZ_DIR" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSOUL_FUZZ=ON >/dev/null
  fi
  cmake --build "$FUZZ_DIR" -j"$(nproc)"
}

targets_or_all() { if [ $# -gt 0 ]; then echo "$@"; else echo "${ALL_TARGETS[@]}"; fi; }

case "${1:-}" in
seeds)
  BUILD_DIR=${SOUL_BUILD_DIR:-build}
  [ -f "$BUILD_DIR/CMakeCache.txt" ] || tools/build.sh
  cmake --build "$BUILD_DIR" --target fuzz_seeds >/dev/null
  "$BUILD_DIR/bin/fuzz_seeds" tests/fuzz/corpus
  exit 0
  ;;
merge)
  shift
  build
  for t in $(targets_or_all "$@"); do
    [ -d "$FUZZ_DIR/corpus/$t" ] || { echo "fuzz: nothing found for $t yet (run tools/fuzz.sh first)"; continue; }
    mkdir -p "$FUZZ_DIR/merged/$t"
    "$FUZZ_DIR/bin/fuzz_$t" -merge=1 -rss_limit_mb=$RSS_LIMIT_MB -timeout=$INPUT_TIMEOUT_S \
      "$FUZZ_DIR/merged/$t" "tests/fuzz/corpus/$t" "$FUZZ_DIR/corpus/$t" 2>"$FUZZ_DIR/merge-$t.log" || { tail -5 "$FUZZ_DIR/merge-$t.log"; exit 1; }
    added=0
    for f in "$FUZZ_DIR/merged/$t"/*; do
      [ -e "tests/fuzz/corpus/$t/$(basename "$f")" ] || [ -e "tests/fuzz/corpus/$t/seed-$(basename "$f")" ] && continue
      cmp -s "$f" /dev/null && continue
      if ! find "tests/fuzz/corpus/$t" -type f -exec cmp -s "$f" {} \; -quit -print | grep -q .; then
        cp "$f" "tests/fuzz/corpus/$t/" && added=$((added + 1))
      fi
    done
    echo "fuzz: $t: $added inputs added to tests/fuzz/corpus/$t"
  done
  exit 0
  ;;
esac

SECONDS_EACH=60
if [[ "${1:-}" =~ ^[0-9]+$ ]]; then SECONDS_EACH=$1; shift; fi
command -v clang++ >/dev/null || { echo "fuzz: clang++ is missing (tools/setup.sh installs it)"; exit 1; }
build
REPORT="$FUZZ_DIR/fuzz-report.txt"
echo "# $(date -u +%FT%TZ) $(git rev-parse --short HEAD) ${SECONDS_EACH}s per target on $(nproc) cores" >>"$REPORT"
status=0
for t in $(targets_or_all "$@"); do
  if [ ! -x "$FUZZ_DIR/bin/fuzz_$t" ]; then
    echo "fuzz: $t: not built (the checkpoint target needs libtorch-dev)" | tee -a "$REPORT"
    continue
  fi
  # Each run starts with no artifacts: what an earlier run found is in its log and, once fixed, in
  # tests/fuzz/crashes/.
  rm -rf "$FUZZ_DIR/crashes/$t"
  mkdir -p "$FUZZ_DIR/corpus/$t" "$FUZZ_DIR/crashes/$t"
  log="$FUZZ_DIR/fuzz-$t.log"
  set +e
  "$FUZZ_DIR/bin/fuzz_$t" -max_total_time="$SECONDS_EACH" -rss_limit_mb=$RSS_LIMIT_MB -timeout=$INPUT_TIMEOUT_S \
    -print_final_stats=1 -artifact_prefix="$FUZZ_DIR/crashes/$t/" "$FUZZ_DIR/corpus/$t" "tests/fuzz/corpus/$t" >"$log" 2>&1
  rc=$?
  set -e
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  cov=$(grep -oE 'cov: [0-9]+' "$log" | tail -1 | cut -d' ' -f2)
  # The HDF5 target reads in child processes (core/io/isolated.h): a child that dies on a malformed
  # file leaves an artifact of libFuzzer's although the target itself survived it. Only a run that
  # failed keeps its artifacts.
  children=0
  if [ $rc -eq 0 ]; then
    children=$(find "$FUZZ_DIR/crashes/$t" -type f ! -name 'slow-unit-*' | wc -l)
    find "$FUZZ_DIR/crashes/$t" -type f ! -name 'slow-unit-*' -delete
  fi
  found=$(find "$FUZZ_DIR/crashes/$t" -type f ! -name '*.min' ! -name 'slow-unit-*' | wc -l)
  slow=$(find "$FUZZ_DIR/crashes/$t" -type f -name 'slow-unit-*' | wc -l)
  line="$t: ${runs:-?} inputs, coverage ${cov:-?} edges, exit $rc, crashes kept $found"
  [ "$slow" -eq 0 ] || line="$line, slow inputs (over 10 s) kept $slow"
  [ "$children" -eq 0 ] || line="$line ($children reader child processes died on their input and were reported as errors)"
  if [ $rc -ne 0 ]; then
    status=1
    artifact=$(grep -oE "Test unit written to .*" "$log" | tail -1 | sed 's/Test unit written to //')
    if [ -n "$artifact" ] && [ -f "$artifact" ]; then
      timeout 120 "$FUZZ_DIR/bin/fuzz_$t" -minimize_crash=1 -max_total_time=60 -rss_limit_mb=$RSS_LIMIT_MB -timeout=$INPUT_TIMEOUT_S \
        -exact_artifact_path="$artifact.min" "$artifact" >"$log.minimise" 2>&1 || true
      line="$line; first: $artifact (minimised: $artifact.min)"
      grep -m3 -E "ERROR|SUMMARY|contract broken|terminate called|what\(\)" "$log" | sed 's/^/    /' || true
    fi
  fi
  echo "fuzz: $line"
  echo "$line" >>"$REPORT"
done
echo "fuzz: summary in $REPORT"
exit $status

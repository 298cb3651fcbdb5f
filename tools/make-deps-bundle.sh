#!/usr/bin/env bash
# tools/make-deps-bundle.sh OUTDIR
#
# Makes, on Debian 12 (bookworm, amd64) with apt access, the bundle tools/build-cuda.sh builds
# the engine from on a machine without apt or network (a GPU machine with a pip PyTorch). About
# 40 MiB. No package is installed; it writes OUTDIR and a temporary folder (and apt's lists, when
# apt-get update has to run):
#   OUTDIR/deps.tar.xz     a pruned Debian 12 prefix (usr/...): ITK 5.2 (headers, CMake files, the
#                          libraries the CLI links; zero-byte stubs for the others and for
#                          itkTestDriver), HDF5 1.10 serial (C, C++), matio, spdlog, fmt,
#                          nlohmann-json, CLI11, libpng, zlib, libjpeg-turbo, the shared libraries
#                          these need (curl, openssl, gnutls, krb5, ...: computed), and stub
#                          DCMTK/GDCM/LIBMINC config files. No docs, man pages, static libraries or
#                          tools. CMake files keep Debian's /usr/ paths: build-cuda.sh rewrites them.
#   OUTDIR/data/mricron/         ch2bet.nii.gz aal.nii.gz aal.nii.txt aal.nii.lut   (mricron-data)
#   OUTDIR/data/fashion-mnist/   train-images-idx3-ubyte.gz train-labels-idx1-ubyte.gz
#                                                                   (dataset-fashion-mnist)
#   OUTDIR/MANIFEST.txt    package versions, the ITK libraries kept, sizes, sha256 sums
# The project's CMakeLists.txt is read for the ITK components of its find_package(ITK ... COMPONENTS ...).
# Run as root (apt-get update may be needed); apt-get download fetches the candidate versions.
# For the device tool: make OUTDIR inside the checkout, ignored (.git/info/exclude), and carry it.
{ # one block: bash reads all of it before running it
set -euo pipefail
umask 022   # the folders and stubs made here: 755 and 644, as in the packages

usage() { sed -n '2,21p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }
[ $# -eq 1 ] || usage
case "$1" in -h|--help) usage;; esac
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
mkdir -p "$1"
OUTDIR=$(cd "$1" && pwd)
PROJECT_DIR=$(cd "$HERE/.." && pwd)

die() { echo "make-bundle: $*" >&2; exit 1; }
say() { echo "== $*"; }

# ---- the machine ------------------------------------------------------------------------------
. /etc/os-release 2>/dev/null || true
if [ "${VERSION_CODENAME:-}" != bookworm ] && [ "${SOUL_BUNDLE_ANY_OS:-0}" != 1 ]; then
  die "needs Debian 12 (bookworm); this is '${PRETTY_NAME:-unknown}' (SOUL_BUNDLE_ANY_OS=1 to try anyway)"
fi
[ "$(dpkg --print-architecture 2>/dev/null)" = amd64 ] || die "needs an amd64 dpkg (the prefix is x86_64-linux-gnu)"
for t in apt-get apt-cache dpkg-deb tar xz python3 readelf sha256sum; do
  command -v "$t" >/dev/null || die "missing tool: $t (readelf: apt-get install binutils)"
done

# ---- what goes in -----------------------------------------------------------------------------
# Development packages: headers, CMake and pkg-config files, the .so links.
DEV_PKGS="libinsighttoolkit5-dev libhdf5-dev libmatio-dev libspdlog-dev libfmt-dev nlohmann-json3-dev
  libcli11-dev libpng-dev zlib1g-dev libjpeg62-turbo-dev"
# Their libraries, kept whole (ITK's unused ones become zero-byte stubs).
LIB_PKGS="libinsighttoolkit5.2 libhdf5-103-1 libhdf5-cpp-103-1 libmatio11 libspdlog1.10 libfmt9
  libpng16-16 zlib1g libjpeg62-turbo"
# Packages that may hold the shared libraries those need (DT_NEEDED, transitively): only the
# libraries actually needed are taken from them.
CLOSURE_PKGS="libaec0 libsz2 libcurl4 libbrotli1 libssl3 libgnutls30 libgssapi-krb5-2 libkrb5-3
  libk5crypto3 libkrb5support0 libcom-err2 libkeyutils1 libldap-2.5-0 libsasl2-2 libssh2-1
  libnghttp2-14 libidn2-0 libpsl5 librtmp1 libzstd1 libnettle8 libhogweed6 libgmp10 libp11-kit0
  libtasn1-6 libunistring2 libffi8"
DATA_PKGS="mricron-data dataset-fashion-mnist"
# The ITK modules the CLI uses: from PROJECT_DIR's CMakeLists.txt when it names them.
ITK_COMPONENTS="ITKCommon ITKIOImageBase ITKIONIFTI ITKNIFTI ITKZLIB ITKIOJPEG"
if [ -n "$PROJECT_DIR" ] && [ -f "$PROJECT_DIR/CMakeLists.txt" ]; then
  c=$(python3 - "$PROJECT_DIR/CMakeLists.txt" <<'EOF'
import re, sys
m = re.search(r"find_package\(\s*ITK\b[^)]*?\bCOMPONENTS\b([^)]*)\)", open(sys.argv[1]).read())
print(" ".join(m.group(1).split()) if m else "")
EOF
)
  [ -n "$c" ] && ITK_COMPONENTS=$c
fi
say "ITK components: $ITK_COMPONENTS${PROJECT_DIR:+ (project $PROJECT_DIR)}"

TMP=$(mktemp -d "${TMPDIR:-/tmp}/make-bundle.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
mkdir -p "$TMP/debs" "$TMP/pkg" "$TMP/root" "$TMP/bundle/data/mricron" "$TMP/bundle/data/fashion-mnist"

# ---- download ---------------------------------------------------------------------------------
ALL="$DEV_PKGS $LIB_PKGS $CLOSURE_PKGS $DATA_PKGS"
download() { (cd "$TMP/debs" && apt-get -q -o APT::Sandbox::User="$(id -un)" download $ALL); }
say "apt-get download ($(echo $ALL | wc -w) packages)"
if ! download; then
  [ "$(id -u)" = 0 ] || die "apt-get download failed; run as root so that apt-get update can run first"
  say "apt-get update, then again"
  apt-get -q update && download || die "apt-get download failed"
fi
deb_of() { ls "$TMP/debs/$1"_*.deb 2>/dev/null | head -1; }
for p in $ALL; do [ -n "$(deb_of "$p")" ] || die "no .deb for $p"; done

# ---- the prefix -------------------------------------------------------------------------------
say "unpack"
CLASSES="$TMP/classes.txt"; : > "$CLASSES"
for p in $DEV_PKGS; do echo "$p dev" >> "$CLASSES"; done
for p in $LIB_PKGS; do echo "$p lib" >> "$CLASSES"; done
for p in $CLOSURE_PKGS; do echo "$p closure" >> "$CLASSES"; done
while read -r p cls; do
  dpkg-deb -x "$(deb_of "$p")" "$TMP/pkg/$p"
done < "$CLASSES"

say "prune, stub, compute the library closure"
python3 - "$TMP/pkg" "$TMP/root" "$CLASSES" "$ITK_COMPONENTS" "$TMP/prefix-report.txt" <<'EOF'
import os, re, shutil, subprocess, sys

pkgroot, root, classes_file, components, report_path = sys.argv[1:6]
classes = dict(line.split() for line in open(classes_file) if line.strip())
report = []
def log(*a):
    s = " ".join(str(x) for x in a); print("  " + s); report.append(s)

# Trees no package keeps, and files no package keeps.
DROP_TREES = ("etc/", "usr/share/doc/", "usr/share/doc-base/", "usr/share/man/", "usr/share/info/",
              "usr/share/lintian/", "usr/share/locale/", "usr/share/bug/", "usr/bin/", "usr/sbin/")
# Libraries every target system has (glibc, libstdc++, libgcc): never taken into the prefix.
SYSTEM_LIBS = {"libc.so.6", "libm.so.6", "libdl.so.2", "libpthread.so.0", "librt.so.1", "libresolv.so.2",
               "libutil.so.1", "ld-linux-x86-64.so.2", "libstdc++.so.6", "libgcc_s.so.1"}
LIBDIRS = ("usr/lib/x86_64-linux-gnu", "usr/lib")
STUB_TEXT = ("# Stub for tools/build-cuda.sh: Debian's ITKConfig.cmake loads every ITK module, and the\n"
             "# {mod} one find_package()s {pkg} REQUIRED; the CLI links no ITK module that needs it.\n"
             "set({pkg}_FOUND TRUE)\n")
STUB_CONFIGS = {"usr/lib/x86_64-linux-gnu/cmake/dcmtk/DCMTKConfig.cmake": ("DCMTK", "DCMTK"),
                "usr/lib/x86_64-linux-gnu/gdcm-3.0/GDCMConfig.cmake": ("GDCM", "GDCM"),
                "usr/lib/x86_64-linux-gnu/cmake/LIBMINC/LIBMINCConfig.cmake": ("LIBMINC", "LIBMINC")}

def merged(rel):   # Debian 12 packages still ship some libraries in /lib: the prefix is usr-merged
    return "usr/" + rel if rel.startswith("lib/") else rel

def entries(pkg):  # (relative path in the prefix, path in the unpacked package), files and links
    base = os.path.join(pkgroot, pkg)
    for d, dirs, files in os.walk(base):
        for name in files + [x for x in dirs if os.path.islink(os.path.join(d, x))]:
            src = os.path.join(d, name)
            yield merged(os.path.relpath(src, base)), src

def put(rel, src, empty=False):
    dst = os.path.join(root, rel)
    os.makedirs(os.path.dirname(dst), exist_ok=True)
    if os.path.lexists(dst):
        os.remove(dst)
    if empty:
        open(dst, "w").close(); os.chmod(dst, 0o644)
    elif os.path.islink(src):
        os.symlink(os.readlink(src), dst)
    else:
        shutil.copy2(src, dst)

def needed(path):
    out = subprocess.run(["readelf", "-d", path], capture_output=True, text=True).stdout
    return re.findall(r"\(NEEDED\)\s+Shared library: \[(.+?)\]", out)

def is_elf(path):
    try:
        with open(path, "rb") as f: return f.read(4) == b"\x7fELF"
    except OSError: return False

# 1. Development and library packages: everything but the dropped trees and static libraries.
closure_pool = {}   # soname/file name -> [(rel, src)] of the closure packages
for pkg, cls in classes.items():
    for rel, src in entries(pkg):
        if cls == "closure":
            closure_pool.setdefault(os.path.basename(rel), []).append((rel, src)); continue
        if rel == "usr/bin/itkTestDriver":        # ITKTargets checks that the file exists
            put(rel, src, empty=True); continue
        if rel.startswith(DROP_TREES) or rel.endswith(".a"):
            continue
        put(rel, src)

# 2. ITK: the libraries the components link (INTERFACE_LINK_LIBRARIES of their targets, then what
#    those load: DT_NEEDED) stay; the others become zero-byte stubs (ITKTargets checks each file).
cm = os.path.join(root, "usr/lib/cmake/ITK-5.2")
def modvars(m):
    p = os.path.join(cm, "Modules", m + ".cmake")
    if not os.path.exists(p): sys.exit(f"make-bundle: no ITK module {m}")
    return {k: [x for x in v.split(";") if x]
            for k, v in re.findall(r'set\(%s_(\w+) "([^"]*)"\)' % re.escape(m), open(p).read())}
mods, libs = set(), []
def rec(m):                         # as ITKModuleAPI's _itk_module_config_recurse
    if m in mods: return
    mods.add(m); v = modvars(m)
    libs.extend(v.get("LIBRARIES", []))
    for d in v.get("TRANSITIVE_DEPENDS", []): rec(d)
for c in components.split(): rec(c)
tg = open(os.path.join(cm, "ITKTargets.cmake")).read() + open(os.path.join(cm, "ITKTargets-none.cmake")).read()
props = {}
for name, body in re.findall(r"set_target_properties\((\S+) PROPERTIES\n(.*?)\n\s*\)", tg, re.S):
    props.setdefault(name, {}).update(re.findall(r'^\s*(\w+) "([^"]*)"', body, re.M))
targets, todo = set(), [l for l in libs if l in props]
while todo:
    t = todo.pop()
    if t in targets: continue
    targets.add(t)
    todo += [x for x in props[t].get("INTERFACE_LINK_LIBRARIES", "").split(";") if x in props]
keep = {os.path.basename(props[t]["IMPORTED_LOCATION_NONE"]) for t in targets if "IMPORTED_LOCATION_NONE" in props[t]}
todo = list(keep)
while todo:
    for n in needed(os.path.join(root, "usr/lib", todo.pop())):
        if re.match(r"lib.*-5\.2\.so\.1$", n) and n not in keep:
            keep.add(n); todo.append(n)
itk = sorted(f for f in os.listdir(os.path.join(root, "usr/lib"))
             if re.match(r"lib.*-5\.2\.so\.1$", f) and not os.path.islink(os.path.join(root, "usr/lib", f)))
missing = keep - set(itk)
if missing: sys.exit(f"make-bundle: ITK libraries not in the package: {sorted(missing)}")
for f in itk:
    if f not in keep:
        put(os.path.join("usr/lib", f), None, empty=True)
log(f"ITK modules: {' '.join(sorted(mods))}")
log(f"ITK libraries kept ({len(keep)}): {' '.join(sorted(keep))}")
log(f"ITK libraries stubbed (zero bytes): {len(itk) - len(keep)}")

# 3. Stub configs: Debian's ITKConfig loads every module; ITKDCMTK, ITKGDCM and ITKMINC
#    find_package() these REQUIRED.
for rel, (mod, pkg) in STUB_CONFIGS.items():
    p = os.path.join(root, rel); os.makedirs(os.path.dirname(p), exist_ok=True)
    with open(p, "w") as f: f.write(STUB_TEXT.format(mod=mod, pkg=pkg))

# 4. The shared libraries needed, transitively, by every real ELF file in the prefix, from the
#    closure packages (a name's link chain and its file).
def find_in_prefix(so):
    return next((os.path.join(root, d, so) for d in LIBDIRS if os.path.lexists(os.path.join(root, d, so))), None)
def take(so):
    got = None
    for rel, src in closure_pool.get(so, []):
        if not rel.startswith(LIBDIRS): continue
        put(rel, src)
        got = os.path.join(root, rel)
        pkgbase = src[:len(pkgroot) + 1] + src[len(pkgroot) + 1:].split("/")[0]
        while os.path.islink(src):      # follow the link chain inside the package
            tgt = os.readlink(src)
            if tgt.startswith("/"):
                nrel = merged(tgt.lstrip("/")); nsrc = os.path.join(pkgbase, tgt.lstrip("/"))
            else:
                nrel = merged(os.path.normpath(os.path.join(os.path.dirname(rel), tgt)))
                nsrc = os.path.normpath(os.path.join(os.path.dirname(src), tgt))
            put(nrel, nsrc); src = nsrc
        break
    return got
taken, unresolved, checked = set(), set(), set()
while True:
    elfs = []
    for d in LIBDIRS:
        dd = os.path.join(root, d)
        for f in os.listdir(dd):
            p = os.path.join(dd, f)
            if ".so" in f and os.path.isfile(p) and not os.path.islink(p) and os.path.getsize(p) > 0 and p not in checked and is_elf(p):
                elfs.append(p)
    if not elfs: break
    for p in elfs:
        checked.add(p)
        for so in needed(p):
            if so in SYSTEM_LIBS or find_in_prefix(so): continue
            if take(so): taken.add(so)
            else: unresolved.add(so)
if unresolved:
    sys.exit(f"make-bundle: needed libraries found in no package: {sorted(unresolved)}")
log(f"runtime closure taken from the closure packages ({len(taken)}): {' '.join(sorted(taken))}")
used = {pkg for pkg, cls in classes.items() if cls == "closure"
        for so in taken for rel, src in closure_pool.get(so, []) if src.startswith(os.path.join(pkgroot, pkg) + "/")}
unused = sorted(p for p, c in classes.items() if c == "closure" and p not in used)
if unused: log(f"NOTE: closure packages that gave nothing: {' '.join(unused)}")

# 5. Absolute links (zlib1g-dev's libz.so -> /lib/...): relative, inside the prefix.
for d, dirs, files in os.walk(root):
    for name in files + dirs:
        p = os.path.join(d, name)
        if os.path.islink(p) and os.readlink(p).startswith("/"):
            t = os.path.join(root, merged(os.readlink(p).lstrip("/")))
            os.remove(p); os.symlink(os.path.relpath(t, d), p)

# 6. Dangling links (HDF5's hl/Fortran .so links, ...), then empty folders.
while True:
    dangling = [os.path.join(d, n) for d, ds, fs in os.walk(root) for n in fs + ds
                if os.path.islink(os.path.join(d, n)) and not os.path.exists(os.path.join(d, n))]
    if not dangling: break
    for p in dangling: os.remove(p)
for d, ds, fs in os.walk(root, topdown=False):
    if d != root and not os.listdir(d): os.rmdir(d)

# 7. Checks: every real library's needs met inside the prefix or by the system's glibc/libstdc++.
bad = []
for d in LIBDIRS:
    dd = os.path.join(root, d)
    for f in os.listdir(dd):
        p = os.path.join(dd, f)
        if os.path.isfile(p) and os.path.getsize(p) > 0 and is_elf(p):
            bad += [f"{f}: {so}" for so in needed(p) if so not in SYSTEM_LIBS and not find_in_prefix(so)]
if bad: sys.exit("make-bundle: unmet DT_NEEDED:\n  " + "\n  ".join(bad))
n = sum(len(fs) + len([x for x in ds if os.path.islink(os.path.join(d, x))]) for d, ds, fs in os.walk(root))
log(f"prefix: {n} files and links; every library's DT_NEEDED met (or glibc/libstdc++/libgcc)")
open(report_path, "w").write("\n".join(report) + "\n")
EOF

say "deps.tar.xz (xz -9)"
# Reproducible: names sorted, owner root, what was made here (stubs, folders) dated as the newest
# file of the packages, one xz thread.
EPOCH=$(find "$TMP/pkg" -type f -printf '%T@\n' | sort -n | tail -1 | cut -d. -f1)
tar -C "$TMP/root" --sort=name --owner=0 --group=0 --numeric-owner --mtime="@$EPOCH" --clamp-mtime \
  -cf - usr | xz -9 -T1 > "$TMP/bundle/deps.tar.xz"

# ---- the data files ---------------------------------------------------------------------------
say "data files"
extract() {   # extract PKG DEST FILE...: only these files of the package's data
  local deb; deb=$(deb_of "$1"); local dest=$2; shift 2
  mkdir -p "$TMP/x"
  dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$TMP/x" "${@/#/./}"
  for f in "$@"; do cp "$TMP/x/$f" "$dest/"; done
}
extract mricron-data "$TMP/bundle/data/mricron" \
  usr/share/mricron/templates/ch2bet.nii.gz usr/share/mricron/templates/aal.nii.gz \
  usr/share/mricron/templates/aal.nii.txt usr/share/mricron/templates/aal.nii.lut
extract dataset-fashion-mnist "$TMP/bundle/data/fashion-mnist" \
  usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz usr/share/datasets/fashion-mnist/train-labels-idx1-ubyte.gz

# ---- manifest ---------------------------------------------------------------------------------
{
  echo "# deps bundle for tools/build-cuda.sh, made $(date -u +%FT%TZ) on ${PRETTY_NAME:-?} by make-bundle.sh"
  echo "# ITK components: $ITK_COMPONENTS"
  cat "$TMP/prefix-report.txt"
  echo "# packages (apt-get download, candidate versions)"
  for p in $ALL; do printf '  %-26s %-28s %s\n' "$p" "$(dpkg-deb -f "$(deb_of "$p")" Version)" "$(grep "^$p " "$CLASSES" | cut -d' ' -f2)"; done
  echo "# files"
  (cd "$TMP/bundle" && find . -type f ! -name MANIFEST.txt | LC_ALL=C sort | xargs sha256sum | while read -r s f; do
     printf '  %10d  %s  %s\n' "$(stat -c %s "$f")" "$s" "${f#./}"; done)
} > "$TMP/bundle/MANIFEST.txt"

# ---- into OUTDIR ------------------------------------------------------------------------------
for f in deps.tar.xz data MANIFEST.txt; do rm -rf "${OUTDIR:?}/$f"; done
cp -a "$TMP/bundle/." "$OUTDIR/"
total=$(du -sb "$OUTDIR" | cut -f1)
say "bundle: $OUTDIR, $((total / 1048576)) MiB"
du -ab "$OUTDIR" | sort -k2 | sed "s#$OUTDIR#  .#"
[ "$total" -le $((45 * 1048576)) ] || echo "WARNING: the bundle is over 45 MiB"
# The device tool sends the working tree (tracked + untracked-not-ignored files) and the carried
# folders: at most 64 MiB together.
if [ -n "$PROJECT_DIR" ] && git -C "$PROJECT_DIR" rev-parse >/dev/null 2>&1; then
  tree=$(cd "$PROJECT_DIR" && git ls-files -z -co --exclude-standard | xargs -0 -r stat -c %s 2>/dev/null | awk '{s += $1} END {print s + 0}')
  echo "working tree $((tree / 1048576)) MiB + bundle $((total / 1048576)) MiB = $(((tree + total) / 1048576)) MiB of the device tool's 64 MiB"
  [ $((tree + total)) -le $((64 * 1048576)) ] || echo "WARNING: over the device tool's 64 MiB: the run would be refused"
  case "$OUTDIR/" in
    "$PROJECT_DIR"/*) rel=${OUTDIR#"$PROJECT_DIR"/}
      git -C "$PROJECT_DIR" check-ignore -q "$rel" ||
        echo "WARNING: $rel is not ignored: add '/$rel/' to $PROJECT_DIR/.git/info/exclude (and carry it)";;
  esac
fi
exit 0
}

#!/usr/bin/env python3
"""Compiles every source that includes LibTorch against LibTorch 2.x headers (syntax and types only).

The engine is built and tested against Debian 12's LibTorch 1.13; the GPU machine has 2.x. This
check takes each LibTorch-using entry of a build's compile_commands.json, swaps the 1.13 headers
for the 2.x ones (tools/fetch-libtorch2-headers.sh), drops the 1.13 precompiled header, and runs
the compiler with -fsyntax-only: every API difference is an error here, before a GPU run finds it.
One precompiled 2.x <torch/torch.h> for every source that shares the flags it depends on (the library
sources and the test suites alike) keeps it to minutes.

Usage: tools/check-libtorch2.py BUILD_DIR [--headers DIR] [--std c++17|c++20] [--jobs N]
Exit status 0 when every source compiles; 1 with the compiler's errors otherwise.
"""
import argparse
import concurrent.futures
import hashlib
import json
import os
import re
import shlex
import subprocess
import sys
import tempfile
import time

TORCH_API_INCLUDE = "/torch/csrc/api/include"
# A precompiled <torch/torch.h> costs about two plain compiles: worth it from three sources on.
PCH_MIN_SOURCES = 3


def default_headers():
    cache = os.environ.get("XDG_CACHE_HOME", os.path.join(os.path.expanduser("~"), ".cache"))
    return os.environ.get("SOUL_LIBTORCH2_DIR", os.path.join(cache, "souldiffuser", "libtorch-2.6"))


def torch_version(root):
    version = {}
    with open(os.path.join(root, "usr/include/torch/csrc/api/include/torch/version.h")) as f:
        for line in f:
            parts = line.split()
            if len(parts) == 3 and parts[0] == "#define" and parts[1].startswith("TORCH_VERSION_"):
                version[parts[1]] = parts[2]
    return "{}.{}.{}".format(version.get("TORCH_VERSION_MAJOR"), version.get("TORCH_VERSION_MINOR"), version.get("TORCH_VERSION_PATCH"))


PROJECT_ROOT = os.path.dirname(os.path.dirname(os.path.realpath(__file__)))
INCLUDE_LINE = re.compile(r'^\s*#\s*include\s*[<"]([^>"]+)[>"]', re.M)
ERROR_PATH = re.compile(r'^(/[^:\n]+):\d+:\d+: (?:fatal )?error:', re.M)


def arguments(entry):
    return shlex.split(entry["command"]) if "command" in entry else list(entry["arguments"])


def includes_torch(path, include_dirs, seen):
    """Whether the file reaches a LibTorch header, directly or through the project's own headers."""
    if path in seen:
        return False
    seen.add(path)
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            text = f.read()
    except OSError:
        return False
    for name in INCLUDE_LINE.findall(text):
        if name.startswith(("torch/", "ATen/", "c10/")):
            return True
        for folder in [os.path.dirname(path)] + include_dirs:
            candidate = os.path.realpath(os.path.join(folder, name))
            if candidate.startswith(PROJECT_ROOT + os.sep) and os.path.isfile(candidate):
                if includes_torch(candidate, include_dirs, seen):
                    return True
                break
    return False


def uses_libtorch(entry):
    """Sources built with the engine's <torch/torch.h> precompiled header may lean on it; the others
    count when they include LibTorch (the readers and dataset code skip the header and use none)."""
    args = arguments(entry)
    if any(a.endswith(("cmake_pch.hxx", "cmake_pch.h")) for a in args):
        return True
    include_dirs = [a[2:] for a in args if a.startswith("-I") and len(a) > 2]
    include_dirs += [args[i + 1] for i, a in enumerate(args[:-1]) if a in ("-I", "-isystem", "-iquote")]
    include_dirs = [d for d in include_dirs if os.path.realpath(d).startswith(PROJECT_ROOT + os.sep)]
    return includes_torch(os.path.realpath(os.path.join(entry["directory"], entry["file"])), include_dirs, set())


def rewrite(entry, root, std):
    """The entry's compiler and flags with the 2.x headers first and no PCH, output and source."""
    args = arguments(entry)
    compiler, flags, i = args[0], [], 1
    while i < len(args):
        a = args[i]
        if a in ("-o", "-c"):
            i += 2
            continue
        if a == "-include" and args[i + 1].endswith(("cmake_pch.hxx", "cmake_pch.h")):
            i += 2
            continue
        if a == "-Winvalid-pch" or a.startswith(("-O", "-g", "-std=")) or a == entry["file"]:
            i += 1
            continue
        if a == "-isystem" and args[i + 1].endswith(TORCH_API_INCLUDE):
            # The 2.x headers come before every other folder, /usr/include's 1.13 ATen and c10 included.
            flags += ["-isystem", os.path.join(root, "usr/include"), "-isystem", os.path.join(root, "usr/include") + TORCH_API_INCLUDE]
            i += 2
            continue
        flags.append(a)
        i += 1
    return compiler, flags + ["-std=" + std]


def pch_flags(flags, root):
    """The flags a precompiled <torch/torch.h> depends on: the source's own definitions (SOUL_*, Qt's)
    and include folders other than the 2.x headers' are left out, so that one PCH serves the library
    sources and every test suite alike. GCC checks the PCH against each source's flags (it is valid
    when a definition it lacks is not used in the headers) and, with -Winvalid-pch, says when not."""
    kept, i = [], 0
    while i < len(flags):
        a = flags[i]
        if a.startswith(("-DSOUL_", "-DQT_")):
            i += 1
            continue
        if a in ("-I", "-isystem", "-iquote") and i + 1 < len(flags):
            if flags[i + 1].startswith(root):
                kept += [a, flags[i + 1]]
            i += 2
            continue
        if a.startswith("-I"):
            i += 1
            continue
        kept.append(a)
        i += 1
    return kept


def run(command, cwd):
    started = time.monotonic()
    p = subprocess.run(command, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    return p.returncode, p.stdout, time.monotonic() - started


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("build_dir")
    ap.add_argument("--headers", default=default_headers())
    ap.add_argument("--std", default="c++17")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 2)
    ap.add_argument("--only", default="", help="check only sources whose path contains this")
    ap.add_argument("--separately", action="store_true", help="each source in a unit of its own (slower; "
                    "no source can lean on what another included)")
    o = ap.parse_args()

    database = os.path.join(o.build_dir, "compile_commands.json")
    if not os.path.isfile(database):
        sys.exit(f"check-libtorch2: {database} is missing: configure the build first (tools/build.sh)")
    if not os.path.isfile(os.path.join(o.headers, "usr/include/torch/csrc/api/include/torch/version.h")):
        sys.exit(f"check-libtorch2: no LibTorch 2.x headers in {o.headers}: run tools/fetch-libtorch2-headers.sh (tools/setup.sh does)")
    with open(database) as f:
        entries = [e for e in json.load(f) if TORCH_API_INCLUDE in (e.get("command") or " ".join(e.get("arguments", []))) and o.only in e["file"]]
    # Sources of the project only: not what the build generated (moc files, CMake's PCH source).
    build_root = os.path.realpath(o.build_dir) + os.sep
    entries = [e for e in entries if not os.path.realpath(os.path.join(e["directory"], e["file"])).startswith(build_root)]
    entries = [e for e in entries if uses_libtorch(e)]
    if not entries:
        sys.exit(f"check-libtorch2: {database} names no source that includes LibTorch")
    version = torch_version(o.headers)
    print(f"check-libtorch2: {len(entries)} sources against LibTorch {version} headers ({o.headers}), -std={o.std}", flush=True)

    work = tempfile.mkdtemp(prefix="soul-libtorch2-")
    # One PCH of <torch/torch.h> per set of the flags it depends on (pch_flags); each source keeps its own.
    groups = {}
    for e in entries:
        compiler, flags = rewrite(e, o.headers, o.std)
        common = pch_flags(flags, o.headers)
        key = hashlib.sha1(" ".join([compiler] + common).encode()).hexdigest()[:12]
        groups.setdefault(key, (compiler, common, e["directory"], []))[3].append((e["file"], flags))

    def make_pch(key):
        compiler, common, cwd, sources = groups[key]
        if len(sources) < PCH_MIN_SOURCES:
            return 0, "", 0.0
        header = os.path.join(work, key, "torch_all.h")
        os.makedirs(os.path.dirname(header))
        with open(header, "w") as f:
            f.write("#pragma once\n#include <torch/torch.h>\n")
        return run([compiler] + common + ["-x", "c++-header", header, "-o", header + ".gch"], cwd)

    def check_flag_set(compiler, flags, use_pch, cwd, files, tag):
        """Sources that share every flag, as one translation unit (each #included in turn): the PCH
        is read and LibTorch's templates instantiated once, not once a source. A source an error
        names (a real 2.x error, or a name two sources define in their anonymous namespaces) is set
        aside and checked alone, and the rest tried again. Returns (source, rc, output, seconds, how)."""
        results, together = [], [] if o.separately else list(files)
        while len(together) >= 2:
            unit = os.path.join(work, f"unit-{tag}.cpp")
            with open(unit, "w") as f:
                f.writelines(f'#include "{os.path.realpath(os.path.join(cwd, source))}"\n' for source in together)
            rc, out, seconds = run([compiler] + flags + use_pch + ["-fsyntax-only", unit], cwd)
            if rc == 0:
                results += [(source, 0, out, seconds, f"in one unit of {len(together)}") for source in together]
                together = []
                break
            paths = {os.path.realpath(os.path.join(cwd, source)): source for source in together}
            named = {paths[m] for m in ERROR_PATH.findall(out) if m in paths} or {source for path, source in paths.items() if path in out}
            together = [source for source in together if source not in named] if named else []
        for source in [source for source in files if source not in {r[0] for r in results}]:
            rc, out, seconds = run([compiler] + flags + use_pch + ["-fsyntax-only", source], cwd)
            results.append((source, rc, out, seconds, "alone"))
        return results

    failures = []
    with concurrent.futures.ThreadPoolExecutor(max_workers=o.jobs) as pool:
        for key, (rc, out, _) in zip(groups, pool.map(make_pch, groups)):
            if rc != 0:   # the sources are still checked, without the PCH, and report the same errors in place
                print(f"check-libtorch2: the precompiled <torch/torch.h> failed for one flag set:\n{out}", flush=True)
        jobs = []
        for key, (compiler, _, cwd, sources) in groups.items():
            pch = os.path.join(work, key, "torch_all.h")
            use_pch = ["-include", pch, "-Winvalid-pch"] if os.path.exists(pch + ".gch") else []
            flag_sets = {}
            for source, flags in sources:
                flag_sets.setdefault(tuple(flags), []).append(source)
            for n, (flags, files) in enumerate(flag_sets.items()):
                jobs.append(pool.submit(check_flag_set, compiler, list(flags), use_pch, cwd, files, f"{key}-{n}"))
        for job in jobs:
            for source, rc, out, seconds, how in job.result():
                status = "ok" if rc == 0 else "FAILED"
                # GCC's own reason when the shared PCH did not fit this source's flags (checked, only slower).
                note = next(("  (" + line.strip() + ")" for line in out.splitlines() if "not used because" in line), "")
                print(f"  {status:6} {seconds:5.1f} s  {how:17} {os.path.relpath(source)}{note}", flush=True)
                if rc != 0:
                    failures.append((source, out))
    for source, out in failures:
        print(f"\n=== {source}\n{out}")
    print(f"check-libtorch2: {len(entries) - len(failures)} of {len(entries)} sources compile against LibTorch {version}")
    subprocess.run(["rm", "-rf", work])
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

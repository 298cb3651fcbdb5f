#!/usr/bin/env python3
"""Training throughput of `souldiffuser train`: samples/s per stage, for one or more builds side by side.

Each build trains the same stages from the same config, cut to a fixed number of steps per stage
(the config's epochs shrunk, nothing else changed), on the same prepared dataset, one after the
other. Samples/s come from metrics.jsonl: batch × (steps − 1) / (time of the last step − time of
the first), so start-up and the first step's warm-up are left out. Run twice or more and take
the median: the 2-core machine is shared.

--ranks 1,2 also trains each build data-parallel (`train --nproc N`, docs/distributed.md) with the
same global batch (the config's batch_size split over the N ranks), and reports the all-reduce's
time per step that rank 0 logs (allreduce_ms).

Usage: bench/train_throughput.py --data PREPARED [--config models/configs/phantom-small.json]
           [--steps 40] [--stages embedding,ssmnet,sembert,baseline,vae,unet] [--device cpu]
           [--precision auto] [--repeats 1] [--ranks 1] NAME=SOULDIFFUSER_BINARY [NAME=BINARY ...]
"""
import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile

# Stages that need an earlier stage's checkpoint: that stage is trained first (not measured).
NEEDS = {"ssmnet": ["embedding"], "sembert": ["embedding"], "baseline": ["embedding"], "unet": ["embedding", "vae"],
         "adapters": ["embedding", "vae", "unet"], "ec_cycle": ["ec_encoder", "ec_decoder"]}


def shrunk_config(config, stages, steps, items):
    """The config with each measured stage cut to about `steps` steps (at least one epoch)."""
    c = dict(config)
    per_epoch = max(1, math.ceil(items / c["batch_size"]))
    for s in stages:
        c[s] = dict(c[s], epochs=max(1, math.ceil(steps / per_epoch)))
    for s in {n for st in stages for n in NEEDS.get(st, [])} - set(stages):
        c[s] = dict(c[s], epochs=1)
    c["checkpoint_every"] = 10 ** 6   # one checkpoint at the end of a stage: the loop itself is measured
    return c


def throughput(run, batch):
    rows = {}
    with open(os.path.join(run, "metrics.jsonl")) as f:
        for line in f:
            j = json.loads(line)
            rows.setdefault(j["stage"], []).append(j)
    out = {}
    for stage, r in rows.items():
        if len(r) >= 3:
            dt = r[-1]["time"] - r[0]["time"]
            reduce = [j["allreduce_ms"] for j in r[1:] if "allreduce_ms" in j]
            out[stage] = (batch * (len(r) - 1) / dt, len(r), dt / (len(r) - 1), statistics.mean(reduce) if reduce else None)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", required=True)
    ap.add_argument("--config", default=os.path.join(os.path.dirname(__file__), "..", "models", "configs", "phantom-small.json"))
    ap.add_argument("--steps", type=int, default=40)
    ap.add_argument("--stages", default="embedding,ssmnet,sembert,baseline,vae,unet")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--precision", default="auto")
    ap.add_argument("--repeats", type=int, default=1)
    ap.add_argument("--ranks", default="1", help="comma-separated rank counts, each run with --nproc N at the same global batch")
    ap.add_argument("--keep", default="", help="keep the run folders in this folder (default: a temporary one, removed)")
    ap.add_argument("builds", nargs="+", help="NAME=path/to/souldiffuser")
    o = ap.parse_args()
    stages = o.stages.split(",")
    ranks = [int(n) for n in o.ranks.split(",")]
    builds = []
    for name, binary in (b.split("=", 1) for b in o.builds):
        for n in ranks:
            builds.append((name if ranks == [1] else f"{name} x{n}", binary, n))
    with open(o.config) as f:
        config = json.load(f)
    with open(os.path.join(o.data, "manifest.json")) as f:
        manifest = json.load(f)
    items = manifest["train_trials"]
    results, reduce_ms = {}, {}   # (build, stage) -> [samples/s], [all-reduce ms per step]
    with tempfile.TemporaryDirectory(prefix="train-throughput-") as scratch:
        tmp = o.keep or scratch
        os.makedirs(tmp, exist_ok=True)
        shrunk = shrunk_config(config, stages, o.steps, items)
        configs = {}
        for n in ranks:
            if config["batch_size"] % n:
                sys.exit(f"batch_size {config['batch_size']} does not split over {n} ranks")
            configs[n] = os.path.join(tmp, f"config-{n}.json")
            with open(configs[n], "w") as f:
                json.dump(dict(shrunk, batch_size=config["batch_size"] // n), f)
        for repeat in range(o.repeats):
            for name, binary, nranks in builds:
                cfg = configs[nranks]
                run = os.path.join(tmp, f"{name}-{repeat}")
                order = []
                for s in stages:
                    for n in NEEDS.get(s, []) + [s]:
                        if n not in order:
                            order.append(n)
                cmd = [binary, "train", "--data", o.data, "--config", cfg, "--out", run, "--stages", ",".join(order), "--device", o.device]
                if o.precision != "auto":
                    cmd += ["--precision", o.precision]
                if nranks > 1:
                    cmd += ["--nproc", str(nranks)]
                print(f"[{repeat + 1}/{o.repeats}] {name}: {' '.join(cmd)}", file=sys.stderr, flush=True)
                subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
                for stage, (sps, steps, per, reduce) in throughput(run, config["batch_size"]).items():
                    if stage in stages:
                        results.setdefault((name, stage), []).append(sps)
                        if reduce is not None:
                            reduce_ms.setdefault((name, stage), []).append(reduce)
    names = [n for n, _, _ in builds]
    print(f"samples/s per stage (batch {config['batch_size']}, at least {o.steps} steps and one epoch per stage, device {o.device}, "
          f"median of {o.repeats}; higher is better)\n")
    print("| stage | " + " | ".join(names) + " |")
    print("|---|" + "---|" * len(names))
    for s in stages:
        cells = []
        for n in names:
            v = results.get((n, s))
            cells.append(f"{statistics.median(v):.1f}" if v else "–")
        print(f"| {s} | " + " | ".join(cells) + " |")
    parallel = [n for n, _, r in builds if r > 1]
    if parallel:
        print("\nall-reduce of the gradients, ms per step (rank 0's wait included; median of the runs' means)\n")
        print("| stage | " + " | ".join(parallel) + " |")
        print("|---|" + "---|" * len(parallel))
        for s in stages:
            cells = [f"{statistics.median(reduce_ms[(n, s)]):.1f}" if (n, s) in reduce_ms else "–" for n in parallel]
            print(f"| {s} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()

#!/usr/bin/env bash
# 3D against flattened as the training data shrinks (issue 16): SoulDiffuser's fMRI encoders
# (SSMNet, SemBERT, EdgeColorNet) and the flattened MLP trained on a share of the training images
# (config key train_fraction, all trials of each kept image), every other stage (the embedding
# space; the generator when BASE has one) shared with BASE, and each run scored by
# `souldiffuser evaluate-encoders` on the test images. Writes OUT/sample-efficiency.md (+ .json).
#
#   tools/sample-efficiency.sh BASE_RUN OUT [FRACTION ...]     (default fractions: 0.1 0.25 0.5)
#   STAGES=ssmnet,baseline tools/sample-efficiency.sh ...      (the stages retrained; default all four)
#
# BASE_RUN is a run trained with the full training set (train_fraction 1) with the embedding stage;
# when it also has the stages retrained here, it is the 100 % point (otherwise name 1 among the
# fractions). On the default phantom
# with models/configs/phantom-small.json each fraction f takes about f × 16 minutes on 2 cores.
set -euo pipefail
[ $# -ge 2 ] || { sed -n 2,15p "$0"; exit 2; }
BASE=$1
OUT=$2
shift 2
FRACTIONS=("$@")
STAGES=${STAGES:-ssmnet,sembert,edgecolor,baseline}
[ ${#FRACTIONS[@]} -gt 0 ] || FRACTIONS=(0.1 0.25 0.5)
HERE=$(cd "$(dirname "$0")/.." && pwd)
SOUL=${SOUL:-$HERE/build/bin/souldiffuser}
[ -f "$BASE/run.json" ] || { echo "sample-efficiency: $BASE is not a run folder (no run.json)" >&2; exit 1; }
mkdir -p "$OUT"
DATA=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["dataset"]["path"])' "$BASE/run.json")
BASE_HAS_STAGES=$(python3 -c 'import json,sys; s=json.load(open(sys.argv[1]))["stages"]; print(int(all(s.get(k,{}).get("done") for k in sys.argv[2].replace("edgecolor","ec_encoder,ec_decoder,ec_cycle").split(","))))' "$BASE/run.json" "$STAGES")
if [ "$BASE_HAS_STAGES" = 1 ] && [ ! -f "$BASE/evaluation/report.json" ]; then "$SOUL" evaluate-encoders "$BASE" --out "$BASE/evaluation" >/dev/null; fi
for f in "${FRACTIONS[@]}"; do
    RUN=$OUT/fraction-$f
    if [ ! -f "$RUN/evaluation/report.json" ]; then
        python3 - "$BASE/run.json" "$f" "$OUT/config-$f.json" <<'PY'
import json, sys
config = json.load(open(sys.argv[1]))["config"]
config["train_fraction"] = float(sys.argv[2])
config["name"] = "%s-fraction-%s" % (config.get("name", "run"), sys.argv[2])
json.dump(config, open(sys.argv[3], "w"), indent=1)
PY
        rm -rf "$RUN"
        "$SOUL" train --data "$DATA" --config "$OUT/config-$f.json" --out "$RUN" --from "$BASE" --stages "$STAGES"
        "$SOUL" evaluate-encoders "$RUN" --out "$RUN/evaluation" >/dev/null
    fi
done
python3 - "$OUT" "$BASE" "$BASE_HAS_STAGES" "${FRACTIONS[@]}" <<'PY'
import json, os, sys
out, base, base_is_a_point, fractions = sys.argv[1], sys.argv[2], sys.argv[3] == "1", sys.argv[4:]
runs = [(float(f), os.path.join(out, "fraction-" + f)) for f in fractions] + ([(1.0, base)] if base_is_a_point else [])
runs.sort()
rows = []
for fraction, run in runs:
    report = json.load(open(os.path.join(run, "evaluation", "report.json")))
    stages = json.load(open(os.path.join(run, "run.json")))["stages"]
    rows.append({"fraction": fraction, "run": run, "report": report,
                 "seconds": {s: stages[s].get("seconds") for s in ("ssmnet", "sembert", "ec_encoder", "ec_decoder", "ec_cycle", "baseline") if s in stages}})
json.dump(rows, open(os.path.join(out, "sample-efficiency.json"), "w"), indent=1)
# One line per (module, metric), one column per training share.
keys, table = [], {}
for r in rows:
    for m in r["report"]["rows"]:
        key = (m["module"], m["metric"])
        if key not in table:
            keys.append(key)
            table[key] = {"chance": m["chance"]}
        table[key][r["fraction"]] = m["value"]
shares = [r["fraction"] for r in rows]
images = [r["report"]["test_images"] for r in rows]
with open(os.path.join(out, "sample-efficiency.md"), "w") as md:
    md.write("# Sample efficiency: 3D encoders against the flattened MLP\n\n")
    md.write("`souldiffuser evaluate-encoders` on %d test images for each share of the training images the fMRI encoders learned from "
             "(config `train_fraction`; the embedding space shared). Made by `tools/sample-efficiency.sh`.\n\n" % images[0])
    md.write("| module | metric | chance | " + " | ".join("%g %%" % (100 * f) for f in shares) + " |\n")
    md.write("|---|---|---|" + "---|" * len(shares) + "\n")
    for key in keys:
        t = table[key]
        md.write("| %s | %s | %.3f | " % (key[0], key[1], t["chance"]) + " | ".join("%.3f" % t[f] if f in t else "n/a" for f in shares) + " |\n")
    md.write("\nTraining seconds per stage: " + "; ".join("%g %%: %s" % (100 * r["fraction"], ", ".join("%s %.0f" % (k, v) for k, v in r["seconds"].items() if v))
                                                      for r in rows) + "\n")
print(open(os.path.join(out, "sample-efficiency.md")).read())
PY

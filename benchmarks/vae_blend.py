"""The blend generator against the issue's numbers, on kits it never saw.

Builds two workspaces: `train` = the starter kit + every other Hydrogen kit (in
name order, as in classifier_unseen_kits.py) and `heldout` = the other kits.
Trains the classifier (the judge) and the blend generator on `train` only, then
runs `drummy evaluate` against every hit of `heldout` and writes the report
(report.md + PNGs) to <work>/report.

    python benchmarks/vae_blend.py [--kits /usr/share/hydrogen/data/drumkits] [--work build/bench-vae]

Needs `apt-get install hydrogen-drumkits`. Results: benchmarks/results/vae_blend.json.
"""
from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from datetime import date
from pathlib import Path

import torch

from drummy.evaluate import evaluate_workspace
from drummy.library import Workspace
from drummy.starter import write_starter_kit
from drummy.train import TrainConfig, VAETrainConfig, classifier_path, train_classifier, train_vae


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--kits", type=Path, default=Path("/usr/share/hydrogen/data/drumkits"))
    ap.add_argument("--work", type=Path, default=Path("build/bench-vae"))
    ap.add_argument("--minutes", type=float, default=15.0, help="training budget for the generator")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("-n", type=int, default=200, help="generated hits per type (60 gave shares ±4 points between seeds)")
    args = ap.parse_args()
    if not args.kits.is_dir():
        print(f"no Hydrogen kits at {args.kits}; apt-get install hydrogen-drumkits", file=sys.stderr)
        return 1
    torch.set_num_threads(2)
    kits = sorted(p for p in args.kits.iterdir() if (p / "drumkit.xml").exists())
    starter = args.work / "starter-kit"
    if not starter.exists():
        write_starter_kit(starter, seed=0)
    train_ws, held_ws = Workspace(args.work / "train"), Workspace(args.work / "heldout")
    train_ws.ingest([starter] + kits[0::2], progress=False)
    held_ws.ingest(kits[1::2], progress=False)
    if not classifier_path(train_ws).exists():
        train_classifier(train_ws, TrainConfig(seed=args.seed), progress=False)
    t0 = time.time()
    m = train_vae(train_ws, VAETrainConfig(seed=args.seed, minutes=args.minutes), progress=True, resume=False)
    train_s = time.time() - t0
    path, rep = evaluate_workspace(train_ws, args.work / "report", held_ws, seed=args.seed, n=args.n)
    out = {"date": str(date.today()), "machine": f"{platform.machine()} {torch.get_num_threads()} threads",
           "train_hits": m["train_samples"], "val_hits": m["val_samples"], "heldout_hits": len(held_ws.samples),
           "train_seconds_incl_analysis": round(train_s, 1), "steps": m["steps"], "stopped": m["stopped"],
           "metrics": rep.metrics, "tables": rep.tables}
    res = Path(__file__).parent / "results" / "vae_blend.json"
    res.parent.mkdir(exist_ok=True)
    res.write_text(json.dumps(out, indent=1))
    print(json.dumps({k: v for k, v in out.items() if k != "tables"}, indent=1))
    print(json.dumps(rep.tables["type_share"]))
    print(json.dumps(rep.tables["type_share_real"]))
    print(f"report: {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

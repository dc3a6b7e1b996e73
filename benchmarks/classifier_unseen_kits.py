"""Classifier accuracy on drum kits it never saw.

Trains on the starter kit plus half of Debian's hydrogen-drumkits (every other
kit in name order; `--swap` for the other half), early-stops on folders held out
of that training set, and tests on the other kits. Audio that also occurs in a training kit is dropped from
the test set, so duplicates cannot leak.

    python benchmarks/classifier_unseen_kits.py [--kits /usr/share/hydrogen/data/drumkits]

Needs `apt-get install hydrogen-drumkits`. Prints per-class accuracy and the
confusion matrix; writes them to benchmarks/results/classifier_unseen_kits.json.
"""
from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from datetime import date
from pathlib import Path

import numpy as np

from drummy import classifier as clf
from drummy.library import Workspace
from drummy.train import TrainConfig, balanced_accuracy, confusion, fit_ensemble, labelled
from kitset import hydrogen_kits, starter_kit


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--kits", type=Path, default=Path("/usr/share/hydrogen/data/drumkits"))
    ap.add_argument("--work", type=Path, default=Path("build/bench-classifier"))
    ap.add_argument("--epochs", type=int, default=TrainConfig.epochs)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--swap", action="store_true", help="train on the other half of the kits")
    ap.add_argument("--members", type=int, default=TrainConfig.members, help="nets averaged (1 = a single CNN)")
    args = ap.parse_args()
    if not args.kits.is_dir():
        print(f"no Hydrogen kits at {args.kits}; apt-get install hydrogen-drumkits", file=sys.stderr)
        return 1

    starter = starter_kit(args.work / "starter-kit", seed=args.seed)
    ws = Workspace(args.work / "workspace")
    kit_dirs = hydrogen_kits(args.kits)
    ws.ingest([starter, *kit_dirs])

    train_dirs, test_dirs = kit_dirs[0::2], kit_dirs[1::2]
    if args.swap:
        train_dirs, test_dirs = test_dirs, train_dirs

    def under(path: str, dirs) -> bool:
        return any(path.startswith(str(d.resolve()) + "/") for d in dirs)

    samples, classes = labelled(ws)
    train_pool = [s for s in samples if under(s.path, train_dirs) or s.path.startswith(str(starter.resolve()))]
    test = [s for s in samples if under(s.path, test_dirs)
            and not any(under(p, train_dirs) for p in s.also_at)]
    index = {c: i for i, c in enumerate(classes)}
    cfg = TrainConfig(epochs=args.epochs, seed=args.seed, members=args.members)

    def xy(ss):
        return ws.features([s.hash for s in ss])[0], np.array([index[s.drum_type] for s in ss])

    t0 = time.time()
    model, metrics = fit_ensemble(ws, train_pool, classes, cfg)
    seconds = time.time() - t0
    Xt, yt = xy(test)
    pred = clf.predict(model, Xt).argmax(1)
    per_class = {c: (float((pred[yt == i] == i).mean()), int((yt == i).sum()))
                 for i, c in enumerate(classes) if np.any(yt == i)}
    cm = confusion(yt, pred, len(classes))

    print(f"\ntrain kits: {', '.join(d.name for d in train_dirs)} + starter kit")
    print(f"test kits:  {', '.join(d.name for d in test_dirs)}")
    print(f"train {len(train_pool)} samples ({cfg.members} nets on all of them, after as many validation runs "
          f"that hold out kits/folders), test {len(test)} samples; {seconds:.0f} s\n")
    print("| class | test hits | accuracy |\n|---|---|---|")
    for c, (acc, n) in per_class.items():
        print(f"| {c} | {n} | {acc:.1%} |")
    print(f"| **all** | {len(yt)} | {float((pred == yt).mean()):.1%} (balanced {balanced_accuracy(yt, pred, len(classes)):.1%}) |")
    print("\nconfusion (rows = true, columns = predicted):")
    print("| | " + " | ".join(classes) + " |\n" + "|---" * (len(classes) + 1) + "|")
    for i, c in enumerate(classes):
        print(f"| {c} | " + " | ".join(str(v) for v in cm[i]) + " |")
    # Errors come in blocks (every velocity layer of one instrument), so list them by kit.
    blocks: dict = {}
    for s, y, p in zip(test, yt, pred):
        if y != p and classes[y] in ("kick", "snare", "hihat"):
            blocks.setdefault(f"{s.kit}: {classes[y]} -> {classes[p]}", []).append(Path(s.path).name)
    print("\nkick/snare/hihat errors by kit:")
    for k, files in sorted(blocks.items()):
        print(f"  {len(files)} x {k} ({', '.join(sorted(files)[:4])}{' ...' if len(files) > 4 else ''})")
    out = Path(f"benchmarks/results/classifier_unseen_kits{'_swap' if args.swap else ''}.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({
        "date": str(date.today()), "machine": f"{platform.machine()}, {__import__('os').cpu_count()} cores",
        "classes": classes, "per_class": per_class, "confusion": cm.tolist(),
        "accuracy": float((pred == yt).mean()), "train_seconds": seconds, "members": cfg.members,
        "errors_by_kit": {k: sorted(v) for k, v in blocks.items()}, "train_kits": [d.name for d in train_dirs], "test_kits": [d.name for d in test_dirs],
    }, indent=1))
    ok = all(per_class.get(c, (0, 0))[0] >= 0.9 for c in ("kick", "snare", "hihat"))
    print(f"\nkick/snare/hihat >= 90%: {'PASS' if ok else 'FAIL'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

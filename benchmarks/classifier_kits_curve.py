"""How the classifier's unseen-kit accuracy grows with the number of real training kits.

The issue's split trains on the starter kit plus 7 of the 14 Hydrogen kits and tests on the
other 7 (`classifier_unseen_kits.py`). This asks what more kits would buy: for k training kits
(plus the starter kit, always), the 14 kits are dealt into folds, the shipped 3 nets are trained
per fold (`train.fit`, as in
`classifier_variants.py`), and the folds' test-kit predictions are pooled. For k >= 7 every
kit is a test kit exactly once; for fewer, every kit is a training kit once and each fold
tests on all the others. So every k is scored on all 14 kits' hits; a hit whose audio also
sits in a training kit of its fold is left out of that fold's test.

    PYTHONPATH=. python benchmarks/classifier_kits_curve.py [--ks 2 7 12] [--seed 0]

k = 7 is the issue's own two halves (the first split and the swapped one), pooled. Folds are
dealt from the kits shuffled by --seed. Results: benchmarks/results/classifier_kits_curve.json.
"""
from __future__ import annotations

import argparse
import platform
import time
from dataclasses import replace
from datetime import date
from pathlib import Path

import numpy as np

from drummy import classifier as clf
from drummy.library import Workspace, atomic_write_json
from drummy.train import TrainConfig, confusion, fit, labelled, source_weights
from kitset import hydrogen_kits, starter_kit

TARGETS = ("kick", "snare", "hihat")


def folds(kits: list[Path], k: int, seed: int) -> list[list[Path]]:
    """Test-kit sets: each kit in exactly one, each leaving about k kits to train on.
    k = 7 gives the issue's split and its swap (every other kit in name order)."""
    if 2 * k == len(kits):
        return [kits[1::2], kits[0::2]]
    order = [kits[i] for i in np.random.default_rng(seed).permutation(len(kits))]
    n_test = len(kits) - k
    if n_test >= k:        # few training kits: deal the training sets instead, test on the rest
        n_folds = len(kits) // k
        trains = [order[i::n_folds] for i in range(n_folds)]
        return [[x for x in kits if x not in t] for t in trains]
    return [order[i:i + n_test] for i in range(0, len(kits), n_test)]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ks", type=int, nargs="+", default=[2, 7, 12])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--work", type=Path, default=Path("build/bench-classifier"))
    ap.add_argument("--out", type=Path, default=Path("benchmarks/results/classifier_kits_curve.json"))
    args = ap.parse_args()
    starter = starter_kit(args.work / "starter-kit", seed=0)
    starter = starter.resolve()
    kits = [k.resolve() for k in hydrogen_kits()]
    ws = Workspace(args.work / "workspace")
    ws.ingest([starter, *kits])
    samples, classes = labelled(ws)
    index = {c: i for i, c in enumerate(classes)}
    under = lambda path, dirs: any(path.startswith(str(d) + "/") for d in dirs)  # noqa: E731
    kit_of = lambda s: next((d for d in kits if under(s.path, [d])), None)      # noqa: E731
    results = {"command": "PYTHONPATH=. python benchmarks/classifier_kits_curve.py " +
                          " ".join(["--ks", *map(str, args.ks), "--seed", str(args.seed)]),
               "date": date.today().isoformat(), "machine": f"{platform.machine()}, {platform.processor() or '?'}",
               "classes": classes, "rows": {}}
    if args.out.exists():
        import json
        old = json.loads(args.out.read_text())
        if old.get("classes") == classes:
            results["rows"] = old.get("rows", {})
    for k in args.ks:
        y_true, y_pred, kit_names, per_fold = [], [], [], []
        t0 = time.time()
        for test_kits in folds(kits, k, args.seed):
            train_kits = [d for d in kits if d not in test_kits]
            pool = [s for s in samples if under(s.path, train_kits) or under(s.path, [starter])]
            test = [s for s in samples if under(s.path, test_kits)
                    and not any(under(p, train_kits) for p in s.also_at)]
            X, _ = ws.features([s.hash for s in pool])
            y = np.array([index[s.drum_type] for s in pool])
            Xt, _ = ws.features([s.hash for s in test])
            cfg = TrainConfig(seed=0)
            nets = [fit(X, y, classes, replace(cfg, seed=m), progress=False, weights=source_weights(pool))[0]
                    for m in range(3)]
            pred = clf.predict(clf.combine(nets), Xt).argmax(1)
            yt = np.array([index[s.drum_type] for s in test])
            y_true.append(yt)
            y_pred.append(pred)
            kit_names += [kit_of(s).name for s in test]
            acc = {c: round(100 * float((pred[yt == index[c]] == index[c]).mean()), 1) for c in TARGETS
                   if np.any(yt == index[c])}
            per_fold.append({"train": [d.name for d in train_kits], "test": [d.name for d in test_kits],
                             "train_hits": len(pool), "test_hits": len(test), "accuracy": acc})
            print(f"k={k} test {[d.name for d in test_kits]}: {acc}", flush=True)
        yt, pr = np.concatenate(y_true), np.concatenate(y_pred)
        per_class = {c: {"hits": int((yt == i).sum()), "accuracy": round(100 * float((pr[yt == i] == i).mean()), 1)}
                     for i, c in enumerate(classes) if np.any(yt == i)}
        results["rows"][str(k)] = {
            "training_kits": k, "folds": per_fold, "per_class": per_class,
            "accuracy": round(100 * float((pr == yt).mean()), 1),
            "confusion": confusion(yt, pr, len(classes)).tolist(),
            "errors_by_kit": {c: _errors(yt, pr, kit_names, index[c]) for c in TARGETS},
            "seconds": round(time.time() - t0)}
        print(f"k={k} pooled: " + " / ".join(f"{c} {per_class[c]['accuracy']} % ({per_class[c]['hits']})"
                                             for c in TARGETS), flush=True)
        args.out.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_json(args.out, results)


def _errors(yt: np.ndarray, pr: np.ndarray, kits: list[str], i: int) -> dict[str, int]:
    """Misses of class i per test kit."""
    out: dict[str, int] = {}
    for t, p, kit in zip(yt, pr, kits):
        if t == i and p != i:
            out[kit] = out.get(kit, 0) + 1
    return dict(sorted(out.items(), key=lambda kv: -kv[1]))


if __name__ == "__main__":
    main()

"""What the memorised share is made of: copies of training hits, or typical hits?

The issue's memorised share counts generated hits whose nearest training hit (in the
judge's embedding, as `drummy evaluate` measures it) is closer than the 5th percentile
of real held-out hits' nearest distances. A hit can get there two ways:

- a copy: it sits on one training hit, far closer to it than to any other, and most
  likely on the one whose descriptors it was conditioned on;
- typicality: it sits in a dense part of the training set, about as close to several
  training hits, the same few "hubs" for many generated hits.

Per drum type, for `-n` hits of the bare type recipe of a trained benchmark model,
this prints: the memorised share against the type's own threshold; how often the
nearest training hit is the conditioning source (chance: 1 / training hits of the
type); the nearest / second-nearest distance ratio d1/d2 (a copy: well under 1) for
generated and real held-out hits; the median nearest distance of generated and real
held-out hits, and of training hits to the other training hits (velocity layers of one
drum sit this close); and the share of generated hits whose nearest training hit is one
of the five most frequent ones; and how many training hits (the starter kit's, the real
kits') have another training hit of their type under the threshold themselves.

    python benchmarks/memorisation.py [--work build/bench-vae] [--model PATH] [-n 200]

Run benchmarks/vae_blend.py first (it builds the workspaces, the judge and the models).
Results: benchmarks/results/memorisation.json.
"""
from __future__ import annotations

import argparse
import platform
from datetime import date
from pathlib import Path

import numpy as np
import drummy  # noqa: F401  first: it sets OMP_WAIT_POLICY, read once as torch loads (a busy machine)
import torch

from drummy import classifier as clf
from drummy.evaluate import Judge, RealSet
from drummy.generate import Controls, Generator
from drummy.library import Workspace, atomic_write_json
from drummy.train import classifier_path, vae_path


def distances(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(len(a), len(b)) Euclidean distances."""
    return np.sqrt(((a[:, None] - b[None]) ** 2).sum(-1))


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--work", type=Path, default=Path("build/bench-vae"))
    ap.add_argument("--model", type=Path, help="a blend model (default: the train workspace's)")
    ap.add_argument("-n", type=int, default=200, help="generated hits per type")
    args = ap.parse_args()
    torch.set_num_threads(2)
    tr_ws, ho_ws = Workspace(args.work / "train"), Workspace(args.work / "heldout")
    gen = Generator.load(args.model or vae_path(tr_ws))
    train_h = [h for h in gen.extra["train_hashes"] if h in tr_ws.samples]
    if len(train_h) != len(gen.extra["train_hashes"]):
        raise SystemExit("the model's training hits are not all in the train workspace")
    train = RealSet.from_workspace(tr_ws, train_h)
    held = RealSet.from_workspace(ho_ws, sorted(ho_ws.samples))
    judge = Judge(clf.load(classifier_path(tr_ws)), train.audio)      # as `drummy evaluate` builds it
    e_tr, e_ho = judge(train.audio)[1], judge(held.audio)[1]
    tr_types, ho_types = np.array(train.types), np.array(held.types)
    starter = np.array([tr_ws.samples[h].group.startswith("starter") for h in train_h])   # the synthetic kit's hits
    rows = {}
    for i, t in enumerate(("kick", "snare", "hihat", "clap", "open hat", "tom", "cymbal", "perc")):
        mine = np.flatnonzero(tr_types == t)
        if t not in gen.known or len(mine) < 3 or (ho_types == t).sum() < 5:
            continue
        recipe = gen.recipe(t)
        ys, _ = gen.sample(recipe, Controls(), n=args.n, seed=i)
        source = gen.sources(recipe, args.n, seed=i)[:, 0].numpy()      # training rows the descriptors came from
        D = distances(judge(ys)[1], e_tr[mine])                         # (n, training hits of the type)
        order = np.argsort(D, 1)
        d1, d2 = np.take_along_axis(D, order[:, :2], 1).T
        nn = mine[order[:, 0]]
        H = np.sort(distances(e_ho[ho_types == t], e_tr[mine]), 1)
        L = distances(e_tr[mine], e_tr[mine])
        np.fill_diagonal(L, np.inf)
        _, hub = np.unique(nn, return_counts=True)
        thr = np.percentile(H[:, 0], 5)
        # How dense the training hits themselves are: the share of them with another training hit of
        # their type under the threshold, for the starter kit's and the real kits' (velocity layers).
        dense = {src: float((L.min(1)[m] < thr).mean()) if m.any() else None
                 for src, m in (("starter", starter[mine]), ("real", ~starter[mine]))}
        rows[t] = {
            "training_hits": int(len(mine)),
            "memorised": float((d1 < thr).mean()),
            "train_under_threshold": dense,
            "nearest_is_source": float((nn == source).mean()), "chance": 1 / len(mine),
            "d1_over_d2": float(np.median(d1 / d2)), "heldout_d1_over_d2": float(np.median(H[:, 0] / H[:, 1])),
            "d1": float(np.median(d1)), "heldout_d1": float(np.median(H[:, 0])),
            "train_d1": float(np.median(L.min(1))),
            "distinct_nearest": int(len(hub)), "top5_share": float(np.sort(hub)[::-1][:5].sum() / args.n),
        }
    print(f"{gen.path}, {args.n} hits per type, {date.today()}\n")
    print("| type | memorised (own threshold) | nearest = conditioning source (chance) | d1/d2 generated (real held-out) "
          "| median d1: generated / real held-out / train→other train | training hits that are nearest (top 5 take) "
          "| training hits under the threshold themselves: starter kit / real kits |")
    print("|---|---|---|---|---|---|---|")
    for t, r in rows.items():
        print(f"| {t} | {r['memorised']:.0%} | {r['nearest_is_source']:.1%} ({r['chance']:.1%}) "
              f"| {r['d1_over_d2']:.2f} ({r['heldout_d1_over_d2']:.2f}) | {r['d1']:.1f} / {r['heldout_d1']:.1f} / "
              f"{r['train_d1']:.1f} | {r['distinct_nearest']} of {r['training_hits']} ({r['top5_share']:.0%}) "
              f"| {_share(r['train_under_threshold']['starter'])} / {_share(r['train_under_threshold']['real'])} |")
    out = Path(__file__).parent / "results" / "memorisation.json"
    atomic_write_json(out, {"date": str(date.today()), "machine": f"{platform.machine()}, {torch.get_num_threads()} threads",
                            "model": str(gen.path), "model_hash": gen.hash, "n": args.n, "types": rows})
    return 0


def _share(x: float | None) -> str:
    return "–" if x is None else f"{x:.0%}"


if __name__ == "__main__":
    raise SystemExit(main())

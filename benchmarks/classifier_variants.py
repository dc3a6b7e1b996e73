"""Classifier variants on the unseen-kit split (BENCHMARKS.md, session 16).

The split and training of `classifier_unseen_kits.py`, but only the 3 shipped nets (the
validation runs do not change them), and then test-time variants on the same nets:
test-time augmentation, test hits normalised or raised to a level, or at a fixed level.
Training-side variants: --starter-seeds 0 1 2 (more synthetic hits), --peaknorm
(log-mels relative to each hit's own peak).

    PYTHONPATH=. python benchmarks/classifier_variants.py [--swap] [--seed 10] [--peaknorm] [--starter-seeds 0 1 2]
"""
import argparse
import time
from dataclasses import replace
from pathlib import Path
import numpy as np
import drummy  # noqa: F401  first: it sets OMP_WAIT_POLICY, read once as torch loads (a busy machine)
import torch

from drummy import classifier as clf
from drummy import features as F
from drummy.library import Workspace
from drummy.train import TrainConfig, augment, fit, labelled, source_weights
from kitset import hydrogen_kits, starter_kit



def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--swap", action="store_true")
    ap.add_argument("--starter-seeds", type=int, nargs="+", default=[0])
    ap.add_argument("--scale-starter", action="store_true", help="keep the starter's total weight as with one seed")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--tag", default="x")
    ap.add_argument("--peaknorm", action="store_true")
    args = ap.parse_args()
    kits = Path("/usr/share/hydrogen/data/drumkits")
    work = Path("build/bench-classifier")
    starters = []
    for s in args.starter_seeds:
        d = starter_kit(work / ("starter-kit" if s == 0 else f"starter-kit-s{s}"), seed=s)
        starters.append(d.resolve())
    ws = Workspace(work / "workspace")
    kit_dirs = hydrogen_kits(kits)
    ws.ingest([*starters, *kit_dirs])
    train_dirs, test_dirs = kit_dirs[0::2], kit_dirs[1::2]
    if args.swap:
        train_dirs, test_dirs = test_dirs, train_dirs
    under = lambda path, dirs: any(path.startswith(str(d.resolve()) + "/") for d in dirs)
    samples, classes = labelled(ws)
    is_starter = lambda s: any(s.path.startswith(str(d) + "/") for d in starters)
    train_pool = [s for s in samples if under(s.path, train_dirs) or is_starter(s)]
    test = [s for s in samples if under(s.path, test_dirs) and not any(under(p, train_dirs) for p in s.also_at)]
    index = {c: i for i, c in enumerate(classes)}
    X, _ = ws.features([s.hash for s in train_pool]); y = np.array([index[s.drum_type] for s in train_pool])
    Xt, _ = ws.features([s.hash for s in test]); yt = np.array([index[s.drum_type] for s in test])
    w = source_weights(train_pool)
    if args.scale_starter:
        w = np.where([is_starter(s) for s in train_pool], w / len(starters), w)
    if args.peaknorm:
        def relmel(ss):
            out = []
            for s in ss:
                y = ws.load_audio(s.hash)
                y = F.fit_length(np.asarray(y, np.float32), int(F.MEL.seconds * F.MEL.sr))
                mel = F.mel_basis(F.MEL) @ F.stft_power(y, F.MEL.n_fft, F.MEL.hop)
                db = 10 * np.log10(np.maximum(mel, 1e-20))
                out.append(np.maximum(db - db.max(), F.MEL.floor_db).astype(np.float32))
            return np.stack(out)
        X, Xt = relmel(train_pool), relmel(test)
    cfg = TrainConfig(seed=args.seed)
    t0 = time.time()
    members = [fit(X, y, classes, replace(cfg, seed=cfg.seed + k), progress=False, weights=w)[0] for k in range(3)]
    model = clf.combine(members)
    secs = time.time() - t0
    def report(P, name):
        pred = P.argmax(1)
        pc = {c: round(float((pred[yt == i] == i).mean()) * 100, 1) for i, c in enumerate(classes) if np.any(yt == i)}
        print(f"{args.tag} {name} swap={args.swap} k/s/h {pc['kick']}/{pc['snare']}/{pc['hihat']}  all {pc}", flush=True)
        return pc
    out = {"plain": report(clf.predict(model, Xt), "plain")}
    # test-time augmentation: small gains/shifts that the training augmentation covers
    g = torch.Generator().manual_seed(123)
    Ps = [clf.predict(model, Xt)]
    for _ in range(8):
        Ps.append(clf.predict(model, augment(torch.from_numpy(Xt), g).numpy()))
    out["tta"] = report(np.mean(Ps, 0), "tta8")
    def normmel(ss, peak_db=-1.0):
        out = []
        for s in ss:
            y = ws.load_audio(s.hash)
            y = y * (10 ** (peak_db / 20) / max(float(np.abs(y).max()), 1e-9))
            out.append(F.log_mel(y))
        return np.stack(out)
    if not args.peaknorm:
        Xn = normmel(test)
        out["norm_infer"] = report(clf.predict(model, Xn), "norm-infer-1dB")
        def quietmel(ss, floor_db=-13.0):
            out = []
            for s in ss:
                y = ws.load_audio(s.hash)
                pk = max(float(np.abs(y).max()), 1e-9)
                if 20 * np.log10(pk) < floor_db:
                    y = y * (10 ** (floor_db / 20) / pk)
                out.append(F.log_mel(y))
            return np.stack(out)
        report(clf.predict(model, quietmel(test)), "raise-quiet-13")
        for lvl in (-20, -40):
            report(clf.predict(model, normmel(test, lvl)), f"all-at{lvl}dB")
    print(f"{args.tag} train {len(train_pool)} test {len(test)} {secs:.0f}s")


if __name__ == "__main__":
    main()

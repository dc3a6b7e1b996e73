"""The shipped noise gate (`codec.gate`, -60 dB per band) against a spectral + end gate, on
the generator models `vae_blend.py` trained and kept (build/bench-vae/train/models/vae-seedN),
with its judge and held-out kits; no retraining. Per model and gate: the median length of
64 generated closed hats, snares and open hats and their level 20 ms before the end (dB under
their loudest millisecond), and `evaluate`'s lines at 200 hits per type.

    PYTHONPATH=. python benchmarks/gate_alternatives.py 1,2
"""
import json, sys, time
from pathlib import Path
sys.path.insert(0, str(Path(__file__).parent))
import numpy as np, torch
torch.set_num_threads(2)
from drummy import codec, classifier as clf
from drummy.codec import CODEC
from drummy.generate import Generator, finish
from drummy.evaluate import RealSet, evaluate
from drummy.library import Workspace, classifier_path
import vae_blend as B

shipped_gate = codec.gate

def spectral_gate(code, threshold_db, cfg=CODEC, spectral_db=40.0, end_db=60.0):
    """Noise bands drop to the floor where they sit spectral_db under their frame's loudest
    band (hiss under a hat's sizzle), and whole frames once the loudest band is end_db
    under the hit's loudest (the hit has ended); otherwise a tail decays as it is."""
    out = code.clone()
    noise = code[:, : cfg.bands]                                           # (B, bands, T)
    frame_max = noise.amax(1, keepdim=True)                                # (B, 1, T)
    hit_max = frame_max.amax(2, keepdim=True)                              # (B, 1, 1)
    off = (noise < frame_max - spectral_db) | (frame_max < hit_max - end_db)
    out[:, : cfg.bands] = torch.where(off, torch.full_like(noise, cfg.floor_db), noise)
    return out

def tails(gen, recipe, n=64, seed=5):
    ys = gen.generate(gen.recipe(recipe), n=n, seed=seed)
    L, E = [], []
    for y in ys:
        y = finish(y)
        k = int(0.001 * 44100)
        e = np.sqrt(np.convolve(y ** 2, np.ones(k) / k, "same"))
        n10, n20 = int(0.010 * 44100), int(0.02 * 44100)
        w = y[-(n10 + n20):-n10]
        L.append(len(y) / 44.1)
        E.append(20 * np.log10(np.sqrt(np.mean(w ** 2)) + 1e-12) - 20 * np.log10(e.max()))
    return float(np.median(L)), float(np.median(E))

work = Path("build/bench-vae")
ws, held = Workspace(work / "train"), Workspace(work / "heldout")
judge = clf.load(classifier_path(ws))
out = {}
for seed in [int(s) for s in sys.argv[1].split(",")]:
    gen = Generator.load(work / "train" / "models" / f"vae-seed{seed}.safetensors")
    train = RealSet.from_workspace(ws, [h for h in gen.extra["train_hashes"] if h in ws.samples])
    ho = RealSet.from_workspace(held, sorted(set(held.samples) - set(gen.extra["train_hashes"])))
    for name, g in [("shipped", shipped_gate), ("spectral40-end60", spectral_gate)]:
        codec.gate = g
        t = {r: tails(gen, r) for r in ("hihat", "snare", "open hat")}
        t0 = time.time()
        rep, raw = evaluate(gen, judge, train, ho, n=200, seed=seed, progress=False)
        lines = {nm: round(get({"metrics": rep.metrics, "tables": rep.tables, "train_seconds_incl_analysis": 0}), 3) for nm, get, _ in B.LINES[:-1]}
        out[f"{seed}/{name}"] = {"tails (ms, dB 20ms before end)": t, "lines": lines, "shares": rep.tables["type_share"]}
        print(seed, name, json.dumps(out[f"{seed}/{name}"]), round(time.time() - t0), flush=True)
        (Path(__file__).parent / "results" / "gate_alternatives.json").write_text(json.dumps(out, indent=1))

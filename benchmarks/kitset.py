"""The benchmarks' real kits: the 14 of Debian's hydrogen-drumkits package, by name (and the
starter kit, and how a labelled result is saved).

Installing Hydrogen itself adds GMRockKit and TR808EmulationKit to the same folder, which
shifted every every-other-kit split (train 646 -> 767 hits in vae_blend.py), so the kits are
named here rather than found by listing the folder.
"""
from __future__ import annotations

import shutil
import sys
from pathlib import Path

FOLDER = Path("/usr/share/hydrogen/data/drumkits")
HYDROGEN_DRUMKITS = ("Audiophob", "BJA_Pacific", "ColomboAcousticDrumkit", "ElectricEmpireKit", "ForzeeStereo",
                     "Gimme A Hand 1.0", "HardElectro1", "Millo-Drums_v.1", "Millo_MultiLayered2",
                     "Millo_MultiLayered3", "The Black Pearl 1.0", "VariBreaks", "circAfrique v4",
                     "rumpf_kit_z01_h2")


def hydrogen_kits(folder: Path = FOLDER) -> list[Path]:
    """The 14 kit folders in name order; exits with a hint if any is missing."""
    kits = [folder / k for k in sorted(HYDROGEN_DRUMKITS)]
    missing = [k.name for k in kits if not (k / "drumkit.xml").exists()]
    if missing:
        sys.exit(f"no Hydrogen kit {', '.join(missing)} under {folder}; apt-get install hydrogen-drumkits")
    return kits


def starter_kit(folder: Path, seed: int = 0) -> Path:
    """The starter kit as this code writes it, written afresh into `folder` on every run.
    A copy kept from an earlier run goes stale when the synthesis or the writer changes:
    session 19's true-peak writer made 182 of its 280 hits up to 2.6 dB quieter, and the
    benchmarks went on training on the old copy."""
    from drummy.starter import write_starter_kit
    shutil.rmtree(folder, ignore_errors=True)
    write_starter_kit(folder, seed=seed, progress=False)
    return folder


def save_entry(results: str, label: str, row: dict) -> Path:
    """Write `row` under `label` into benchmarks/results/<results>.json, keeping the other
    labels' entries (runs of several models or code versions side by side)."""
    import json
    from drummy.library import atomic_write_json
    res = Path(__file__).parent / "results" / f"{results}.json"
    out = json.loads(res.read_text()) if res.exists() else {}
    out[label] = row
    atomic_write_json(res, out)
    return res


def then_and_now(work: str, seeds: list[int], n: int, types: tuple[str, ...], measure, summary, results: str,
                 **extra) -> Path:
    """Recipes' hits of each seed's benchmark model (<work>/train/models/vae-seed<S>.safetensors), `n` guarded hits a
    type at `--decay` 0 and 1 (seed 5), as audio version 15 made them (`Generator.steady` off) and now, read by
    `measure` (audio -> float) and `summary` (floats -> dict), against the model's real training hits of the type
    (their stored copies, up to 6 s). Saved under "session44" in benchmarks/results/<results>.json."""
    import json
    import os
    import platform
    from datetime import date
    from drummy import audio, novelty
    from drummy.generate import Controls, Generator
    from drummy.library import Workspace
    ws = Workspace(Path(work) / "train")
    lib = json.loads(ws.manifest_path.read_text())["samples"]
    out = {"date": date.today().isoformat(), "machine": f"{platform.machine()}, {os.cpu_count()} cores", "n": n,
           **extra, "seeds": {}}
    for seed in seeds:
        g = Generator.load(ws.root / "models" / f"vae-seed{seed}.safetensors")
        g.guard = novelty.for_workspace(ws, g, progress=False)
        real = {}
        for h in g.extra["train_hashes"]:
            s = lib.get(h)
            if s and s["drum_type"] in types:
                y = audio.load(next((ws.root / "audio").glob(h + "*")), max_seconds=60)
                real.setdefault(s["drum_type"], []).append(measure(y[: 6 * audio.SR]))
        row = {}
        for t in types:
            row[t] = {"real": summary(real.get(t, [0.0]))}
            for decay in (0.0, 1.0):
                for steady in (False, True):
                    g.steady = steady
                    ys = g.generate(g.recipe(t), Controls(decay=decay), n=n, seed=5)
                    key = f"decay {decay:+.0f}, " + ("now" if steady else "version 15")
                    row[t][key] = summary([measure(y) for y in ys])
                    print(f"seed {seed} {t:8s} {key:22s} {row[t][key]}  (real {row[t]['real']})", flush=True)
        out["seeds"][str(seed)] = row
    return save_entry(results, "session44", out)


def then_and_now_main(types: tuple[str, ...], measure, summary, results: str, **extra) -> None:
    """A `then_and_now` benchmark's command line: --work, --seeds, -n."""
    import argparse
    ap = argparse.ArgumentParser()
    ap.add_argument("--work", default="build/bench-vae")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3])
    ap.add_argument("-n", type=int, default=40)
    args = ap.parse_args()
    print("results:", then_and_now(args.work, args.seeds, args.n, types, measure, summary, results, **extra))

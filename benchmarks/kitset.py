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

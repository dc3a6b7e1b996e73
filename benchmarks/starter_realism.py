"""How close the starter kit's hits sit to real ones, per drum type, in the descriptors a
producer hears: brightness (spectral centroid), length (decay to -40 dB) and the balance of
lows to highs.

Writes the starter kit afresh, ingests it with Debian's 14 hydrogen-drumkits kits (labels
are Drummy's own) and prints the 10th / 50th / 90th percentiles of each descriptor for the
starter kit's hits and for the real ones.

    PYTHONPATH=. python benchmarks/starter_realism.py [--seed 0]

Writes benchmarks/results/starter_realism.json. Needs `apt-get install hydrogen-drumkits`.
"""
from __future__ import annotations

import argparse
import json
import platform
from collections import defaultdict
from datetime import date
from pathlib import Path

import numpy as np

from drummy.features import DESCRIPTOR_NAMES
from drummy.library import Workspace
from kitset import hydrogen_kits, starter_kit

MEASURES = ("centroid_hz", "decay_ms", "low_high_db", "flatness")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--work", type=Path, default=Path("build/bench-starter"))
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()

    starter = starter_kit(args.work / "starter-kit", seed=args.seed)
    ws = Workspace(args.work / "workspace")
    ws.ingest([starter, *hydrogen_kits()])
    samples = ws.require_samples()
    _, desc = ws.features([s.hash for s in samples])                 # (N, descriptors)
    root = str(starter.resolve()) + "/"
    groups: dict[tuple[str, str], list[np.ndarray]] = defaultdict(list)
    for s, d in zip(samples, desc):
        if s.drum_type != "unknown":
            groups[(s.drum_type, "starter" if s.path.startswith(root) else "real")].append(d)

    cols = [DESCRIPTOR_NAMES.index(m) for m in MEASURES]
    table = {}
    print("| type | source | hits | " + " | ".join(f"{m} p10 / p50 / p90" for m in MEASURES) + " |")
    print("|---|---|---|" + "---|" * len(MEASURES))
    for (drum_type, source), rows in sorted(groups.items()):
        d = np.array(rows)[:, cols]
        pct = np.nanpercentile(d, [10, 50, 90], axis=0)             # (3, measures)
        table.setdefault(drum_type, {})[source] = {
            "hits": len(rows), **{m: [round(float(v), 3) for v in pct[:, i]] for i, m in enumerate(MEASURES)}}
        cells = [" / ".join(f"{v:.3g}" for v in pct[:, i]) for i in range(len(MEASURES))]
        print(f"| {drum_type} | {source} | {len(rows)} | " + " | ".join(cells) + " |")

    out = Path("benchmarks/results/starter_realism.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"date": date.today().isoformat(), "machine": platform.machine(),
                               "seed": args.seed, "percentiles": [10, 50, 90], "types": table}, indent=1) + "\n")
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

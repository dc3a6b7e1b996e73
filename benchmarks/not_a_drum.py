"""Can the classifier tell a drum from something that is not one? (measured, not built)

`--auto-label` gives every unknown sample the most likely drum type: a vocal chop or a piano
note filed among the drums becomes a "snare" and teaches the blend generator. A classifier
trained on drums alone has no "not a drum" class, so this measures the usual substitute: how far
a sound's embedding lies from the nearest training hit (k-NN out-of-distribution detection),
and, as a baseline, the classifier's top probability.

Non-drums (made here, nothing downloaded): single notes and triads of 38 General MIDI melodic
programs rendered by fluidsynth from Debian's FluidR3 soundfont (`fluid-soundfont-gm`), and
short spoken words from `espeak-ng`. A second real-drum check: the soundfont's own drum kit,
GM notes 35-81. The real drums the thresholds must pass are the held-out kits of
`benchmarks/vae_blend.py` (run it first: this uses its judge, `build/bench-vae/train`).

Thresholds: the 95th / 99th percentile of the held-out kits' own distances (an oracle: a
product cannot know them), and of each training hit's distance to the training hits of other
kits or folders (what a trained model could store and use).

    apt-get install fluidsynth fluid-soundfont-gm espeak-ng
    PYTHONPATH=. python benchmarks/not_a_drum.py

Results: benchmarks/results/not_a_drum.json.
"""
from __future__ import annotations

import platform
import shutil
import subprocess
import sys
from datetime import date
from pathlib import Path

import mido
import numpy as np

from drummy import audio, features
from drummy import classifier as clf
from drummy.library import Workspace, atomic_write_json

SOUNDFONT = Path("/usr/share/sounds/sf2/FluidR3_GM.sf2")
WORDS = ("yeah", "one two three", "hey", "drop it", "come on", "uh", "check it out", "let's go",
         "oh yeah", "ha", "what", "listen", "bass", "huh", "alright")
VOICES = ("en", "en-us", "en+f3", "en+m3")


def render(midi: Path, wav: Path, notes: list[int], program: int = 0, channel: int = 0, seconds: float = 1.0) -> None:
    """Notes held for `seconds` at 120 bpm, rendered by fluidsynth at 44.1 kHz."""
    mid = mido.MidiFile(ticks_per_beat=480)
    track = mido.MidiTrack()
    mid.tracks.append(track)
    track.append(mido.Message("program_change", program=program, channel=channel, time=0))
    track += [mido.Message("note_on", note=n, velocity=100, channel=channel, time=0) for n in notes]
    track += [mido.Message("note_off", note=n, channel=channel, time=int(seconds * 960) if i == 0 else 0)
              for i, n in enumerate(notes)]
    track.append(mido.MetaMessage("end_of_track", time=960))
    mid.save(midi)
    subprocess.run(["fluidsynth", "-ni", "-q", "-g", "0.8", "-F", str(wav), "-r", "44100", str(SOUNDFONT), str(midi)],
                   check=True, capture_output=True)


def make_sets(root: Path) -> dict[str, list[Path]]:
    missing = [t for t in ("fluidsynth", "espeak-ng") if not shutil.which(t)] + ([] if SOUNDFONT.exists() else [str(SOUNDFONT)])
    if missing:
        sys.exit(f"missing {', '.join(missing)}: apt-get install fluidsynth fluid-soundfont-gm espeak-ng")
    sets = {k: root / k for k in ("melodic", "speech", "gm drums")}
    for d in sets.values():
        d.mkdir(parents=True, exist_ok=True)
    midi = root / "note.mid"
    for p in range(0, 112, 3):                                  # pianos .. synth effects, every third program
        for name, notes in (("low", [40]), ("mid", [60]), ("triad", [72, 76, 79])):
            out = sets["melodic"] / f"p{p:03d}_{name}.wav"
            if not out.exists():
                render(midi, out, notes, program=p, seconds=0.8 if p < 80 else 1.5)
    for note in range(35, 82):
        out = sets["gm drums"] / f"gm{note}.wav"
        if not out.exists():
            render(midi, out, [note], channel=9, seconds=0.5)
    for i, words in enumerate(WORDS):
        for v in VOICES:
            out = sets["speech"] / f"s{i:02d}_{v}.wav"
            if not out.exists():
                subprocess.run(["espeak-ng", "-v", v, "-w", str(out), words], check=True)
    return {k: sorted(d.glob("*.wav")) for k, d in sets.items()}


def main() -> int:
    work = Path("build/bench-vae")
    tr_ws, ho_ws = Workspace(work / "train"), Workspace(work / "heldout")
    model = clf.load(tr_ws.root / "models" / "classifier.safetensors")

    def of_workspace(ws: Workspace):
        hashes = sorted(ws.samples)
        probs, emb = clf.predict_embed(model, ws.features(hashes)[0])
        return probs, emb, [ws.samples[h] for h in hashes]

    def of_files(paths: list[Path]):
        return clf.predict_embed(model, np.stack([features.log_mel(clf.raise_quiet(audio.load(p))) for p in paths]))

    p_tr, e_tr, s_tr = of_workspace(tr_ws)
    p_ho, e_ho, _ = of_workspace(ho_ws)
    others = {k: of_files(v) for k, v in make_sets(Path("build/not-a-drum")).items()}
    # 32 whitened principal axes of the training embeddings (the judge's 32, scaled to unit variance)
    mean = e_tr.mean(0)
    _, sv, vt = np.linalg.svd(e_tr - mean, full_matrices=False)
    axes = vt[:32].T / (sv[:32] / np.sqrt(len(e_tr)))
    z = lambda e: (e - mean) @ axes                                  # noqa: E731
    z_tr = z(e_tr)

    def dist(e: np.ndarray) -> np.ndarray:                          # to the nearest training hit
        return np.sqrt(((z(e)[:, None] - z_tr[None]) ** 2).sum(-1)).min(1)

    groups = np.array([s.group.split("/")[0] for s in s_tr])
    D = np.sqrt(((z_tr[:, None] - z_tr[None]) ** 2).sum(-1))
    loo = np.where(groups[:, None] == groups[None], np.inf, D).min(1)     # to other kits' / folders' hits
    d_ho = dist(e_ho)
    d_other = {k: dist(e) for k, (_, e) in others.items()}
    thresholds = {"held-out kits, 95th pct (oracle)": np.percentile(d_ho, 95),
                  "held-out kits, 99th pct (oracle)": np.percentile(d_ho, 99),
                  "training, other kits, 95th pct": np.percentile(loo[np.isfinite(loo)], 95),
                  "training, other kits, 99th pct": np.percentile(loo[np.isfinite(loo)], 99)}
    rows = {name: {"real held-out drums": float((d_ho > t).mean()),
                   **{k: float((d > t).mean()) for k, d in d_other.items()}} for name, t in thresholds.items()}
    top = {"real held-out drums": float(np.median(p_ho.max(1))),
           **{k: float(np.median(p.max(1))) for k, (p, _) in others.items()}}
    print(f"{date.today()}, {platform.machine()}; judge {tr_ws.root}; held-out hits {len(d_ho)}, "
          + ", ".join(f"{k} {len(v)}" for k, v in d_other.items()) + "\n")
    print("| threshold on the distance to the nearest training hit | " + " | ".join(rows[next(iter(rows))]) + " |")
    print("|---|" + "---|" * len(top))
    for name, r in rows.items():
        print(f"| {name} | " + " | ".join(f"{v:.0%} rejected" for v in r.values()) + " |")
    print("| median top probability (baseline) | " + " | ".join(f"{v:.2f}" for v in top.values()) + " |")
    atomic_write_json(Path(__file__).parent / "results" / "not_a_drum.json",
                      {"date": str(date.today()), "machine": platform.machine(), "judge": str(tr_ws.root),
                       "rejected": rows, "median_top_probability": top,
                       "hits": {"real held-out drums": len(d_ho), **{k: len(v) for k, v in d_other.items()}}})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Do Drummy's kit exports load and play in real players?

Exports the starter kit (seed 0) as a Hydrogen drumkit and as an SFZ, then:
- validates drumkit.xml against Hydrogen's own schema (xmllint + drumkit.xsd) and asks
  Hydrogen itself (`h2cli -c KIT`) whether the kit is valid;
- for every note the MIDI of each built-in pattern uses, checks that both kits answer it
  (a Hydrogen instrument with that midiOutNote and layers, an SFZ region on that key);
- renders each of those notes alone through the SFZ with sfizz (`sfizz_render`) and
  reads its peak: a note that answers is not silent;
- plays an SFZ that slices one file (`offset=`/`end=`: a starter kick, snare and hat one after
  another in one file, on keys 36 / 38 / 42): through sfizz, each key of the sliced kit against
  the same key of Drummy's export of it, where each slice is a file of its own (the same frames:
  the same sound, and nothing of the next slice);
- keeps a multi-layered kit's velocity layers: Millo_MultiLayered3 (hydrogen-drumkits)
  exported both ways, Hydrogen's verdict on it, its kick played at velocities 20 / 60 /
  100 / 127 through sfizz (a different layer each, louder each), and a Drummy beat of 16
  accented kicks from it (every one from the loudest layer: the same peak).

    python benchmarks/players.py [--sfizz PATH] [--work build/bench-players]

Needs `apt-get install libxml2-utils hydrogen` and sfizz_render (the `pysfizz==0.1.3`
wheel ships one: `python -m venv /tmp/sfz && /tmp/sfz/bin/pip install pysfizz==0.1.3`,
then --sfizz /tmp/sfz/lib/python3.11/site-packages/bin/sfizz_render). A missing tool
is reported and its checks left out. Results: benchmarks/results/players.json.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import xml.etree.ElementTree as ET
from datetime import date
from pathlib import Path

import mido
import numpy as np
import soundfile as sf

from drummy import patterns
from drummy.kits import _parse_sfz, export_kit
from drummy.labels import type_of_note
from drummy.sequencer import folder_samples
from drummy.starter import write_starter_kit

XSD = "/usr/share/hydrogen/data/xsd/drumkit.xsd"
NS = "{http://www.hydrogen-music.org/drumkit}"


def hydrogen_notes(xml: Path) -> dict[int, int]:
    """midiOutNote -> layers, over the kit's instruments (the most layers per note)."""
    out: dict[int, int] = {}
    for inst in ET.parse(xml).getroot().iter(NS + "instrument"):
        note = int(inst.find(NS + "midiOutNote").text)
        out[note] = max(out.get(note, 0), len(list(inst.iter(NS + "layer"))))
    return out


def sfz_keys(sfz: Path) -> set[int]:
    keys, group = set(), {}
    for header, ops in _parse_sfz(sfz.read_text()):
        if header == "group":
            group = ops
        elif header == "region" and "key" in {**group, **ops}:
            keys.add(int({**group, **ops}["key"]))
    return keys


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sfizz", default=shutil.which("sfizz_render"))
    ap.add_argument("--work", type=Path, default=Path("build/bench-players"))
    args = ap.parse_args()
    shutil.rmtree(args.work, ignore_errors=True)
    write_starter_kit(args.work / "starter-kit", seed=0, progress=False)
    samples = folder_samples(args.work / "starter-kit")
    xml, _ = export_kit(samples, args.work / "Drummy Starter", "hydrogen")
    sfz, _ = export_kit(samples, args.work / "sfz", "sfz")
    res: dict = {"date": str(date.today()), "machine": f"{platform.machine()} {os.cpu_count()} cores",
                 "kit": f"starter kit seed 0 ({len(samples)} hits)", "missing_tools": []}

    if shutil.which("xmllint") and Path(XSD).is_file():
        r = subprocess.run(["xmllint", "--noout", "--schema", XSD, str(xml)], capture_output=True, text=True)
        res["xmllint_valid"] = r.returncode == 0
        print(f"xmllint against {XSD}: {'valid' if r.returncode == 0 else r.stderr.strip()}")
    else:
        res["missing_tools"].append("xmllint / drumkit.xsd")
    if shutil.which("h2cli"):
        home = args.work / "h2home"
        home.mkdir(exist_ok=True)
        r = subprocess.run(["h2cli", "-c", str(xml.parent)], capture_output=True, text=True, timeout=120,
                           env={**os.environ, "HOME": str(home.resolve())})
        said = next((ln for ln in (r.stdout + r.stderr).splitlines() if "drumkit" in ln and "valid" in ln.lower()), "")
        res["h2cli_says"] = said.strip()
        print(f"h2cli -c: {said.strip()}")
    else:
        res["missing_tools"].append("h2cli")

    # the notes Drummy's own MIDI writes, over every built-in pattern
    used: dict[int, list[str]] = {}
    for name in patterns.BUILTINS:
        for t in patterns.builtin(name).tracks:
            used.setdefault(t.note, []).append(f"{name}:{t.name}")
    h2, keys = hydrogen_notes(xml), sfz_keys(sfz)
    types = {s.drum_type for s in samples}
    res["notes"] = {}
    for note in sorted(used):
        row = {"tracks": used[note], "kit_has_type": type_of_note(note) in types, "hydrogen_layers": h2.get(note, 0),
               "sfz_key": note in keys}
        res["notes"][note] = row
    if args.sfizz and Path(args.sfizz).exists():
        for note, row in res["notes"].items():
            mid = mido.MidiFile()
            tr = mido.MidiTrack()
            mid.tracks.append(tr)
            tr += [mido.Message("note_on", channel=9, note=note, velocity=100, time=0),
                   mido.Message("note_off", channel=9, note=note, time=480)]
            mp, wp = args.work / f"n{note}.mid", args.work / f"n{note}.wav"
            mid.save(mp)
            subprocess.run([args.sfizz, "--sfz", str(sfz), "--midi", str(mp), "--wav", str(wp)],
                           capture_output=True, timeout=120)
            y = sf.read(wp)[0] if wp.exists() else np.zeros(1)
            row["sfizz_peak_dbfs"] = round(float(20 * np.log10(np.abs(y).max() + 1e-12)), 1)
    else:
        res["missing_tools"].append("sfizz_render")
    print("note  tracks                                  kit has type  hydrogen layers  sfz key  sfizz peak")
    for note, row in res["notes"].items():
        print(f"{note:4d}  {', '.join(row['tracks'])[:38]:38s}  {str(row['kit_has_type']):12s}  "
              f"{row['hydrogen_layers']:15d}  {str(row['sfz_key']):7s}  {row.get('sfizz_peak_dbfs', '-')}")
    answered = [n for n, r in res["notes"].items() if r["kit_has_type"]]
    res["every_note_answered"] = all(res["notes"][n]["hydrogen_layers"] > 0 and res["notes"][n]["sfz_key"]
                                     and res["notes"][n].get("sfizz_peak_dbfs", 0) > -60 for n in answered)
    print(f"every note of a type the kit has sounds in both: {res['every_note_answered']}"
          + (f" (missing tools: {', '.join(res['missing_tools'])})" if res["missing_tools"] else ""))
    res["layers"] = velocity_layers(args.work / "layers", args.sfizz)
    res["slices"] = sliced_kit(args.work / "slices", samples, args.sfizz)
    out = Path(__file__).parent / "results" / "players.json"
    out.write_text(json.dumps(res, indent=1) + "\n")
    print(f"wrote {out}")
    return 0


def _sfizz_note(sfizz: str, sfz: Path, note: int, work: Path) -> np.ndarray:
    """One note (velocity 127) rendered through an SFZ by sfizz: mono (samples,)."""
    mid = mido.MidiFile()
    tr = mido.MidiTrack()
    mid.tracks.append(tr)
    tr += [mido.Message("note_on", channel=9, note=note, velocity=127, time=0),
           mido.Message("note_off", channel=9, note=note, time=960)]
    mp, wp = work / f"n{note}.mid", work / f"n{note}.wav"
    mid.save(mp)
    subprocess.run([sfizz, "--sfz", str(sfz), "--midi", str(mp), "--wav", str(wp)], capture_output=True, timeout=120)
    y = sf.read(wp, always_2d=True)[0] if wp.exists() else np.zeros((1, 1))
    return y.mean(1)


def sliced_kit(work: Path, samples: list, sfizz: str | None) -> dict:
    """A kick, a snare and a hat of the starter kit in one file, sliced by an SFZ; Drummy's
    reading of it, and sfizz playing it against Drummy's export of it."""
    from drummy.kits import read_sfz
    work.mkdir(parents=True, exist_ok=True)
    hits = [next(s for s in samples if s.drum_type == t) for t in ("kick", "snare", "hihat")]
    ys = [sf.read(s.path, dtype="float32")[0][:22050] for s in hits]                 # 0.5 s each
    sf.write(work / "loop.wav", np.concatenate(ys), 44100, subtype="PCM_24")
    ends = np.cumsum([len(y) for y in ys])
    (work / "kit.sfz").write_text("<group> sample=loop.wav\n" + "".join(
        f"<region> key={k} offset={e - len(y)} end={e - 1}\n" for k, y, e in zip((36, 38, 42), ys, ends)))
    read = read_sfz(work / "kit.sfz")
    out: dict = {"types": [s.drum_type for s in read], "frames": [[s.start, s.end] for s in read]}
    exported, _ = export_kit(read, work / "export", "sfz")
    if sfizz and Path(sfizz).exists():
        out["sfizz"] = {}
        for note in (36, 38, 42):
            a, b = _sfizz_note(sfizz, work / "kit.sfz", note, work), _sfizz_note(sfizz, exported, note, work / "export")
            n = min(len(a), len(b))
            diff = 20 * np.log10(np.sqrt(np.mean((a[:n] - b[:n]) ** 2)) / (np.sqrt(np.mean(a[:n] ** 2)) + 1e-12) + 1e-12)
            out["sfizz"][note] = {"sliced_vs_exported_db": round(float(diff), 1),
                                  "note_peak_dbfs": round(float(20 * np.log10(np.abs(a).max() + 1e-12)), 1)}
    print(f"a file sliced by an SFZ: read as {out['types']} (frames {out['frames']}); sfizz, sliced kit against "
          f"Drummy's export of it (difference re the note, dB; the note's peak, dBFS): {out.get('sfizz', '-')}")
    return out


def velocity_layers(work: Path, sfizz: str | None) -> dict:
    """Millo_MultiLayered3's layers through both exports and a Drummy beat."""
    from drummy import sequencer
    from drummy.kits import read_hydrogen, read_sfz
    src = Path("/usr/share/hydrogen/data/drumkits/Millo_MultiLayered3")
    if not (src / "drumkit.xml").exists():
        return {"missing": str(src)}
    work.mkdir(parents=True, exist_ok=True)
    samples = folder_samples(src)
    xml, _ = export_kit(samples, work / "MLX", "hydrogen")
    sfz, _ = export_kit(samples, work / "sfz", "sfz")
    out: dict = {"kit": src.name, "layered_samples": sum(s.velocity is not None for s in samples)}
    out["hydrogen_layers_kept"] = sorted(s.velocity for s in read_hydrogen(xml) if s.velocity) == \
        sorted(s.velocity for s in samples if s.velocity) or "ranges differ (float rounding?)"
    kick_runs = [s.velocity for s in read_sfz(sfz) if s.drum_type == "kick" and s.velocity]
    out["sfz_kick_layers"] = [(round(a * 127), round(b * 127)) for a, b in sorted(kick_runs)]
    if shutil.which("h2cli"):
        r = subprocess.run(["h2cli", "-c", str(xml.parent)], capture_output=True, text=True, timeout=120,
                           env={**os.environ, "HOME": str((work / "h2home").resolve())})
        out["h2cli_says"] = next((ln.strip() for ln in (r.stdout + r.stderr).splitlines()
                                  if "drumkit" in ln and "valid" in ln.lower()), "")
    if sfizz and Path(sfizz).exists():
        mid = mido.MidiFile(ticks_per_beat=480)
        tr = mido.MidiTrack()
        mid.tracks.append(tr)
        for i, v in enumerate((20, 60, 100, 127)):          # one a second at 120 bpm
            tr += [mido.Message("note_on", channel=9, note=36, velocity=v, time=0 if i == 0 else 950),
                   mido.Message("note_off", channel=9, note=36, time=10)]
        mid.save(work / "k.mid")
        subprocess.run([sfizz, "--sfz", str(sfz), "--midi", str(work / "k.mid"), "--wav", str(work / "k.wav")],
                       capture_output=True, timeout=120)
        y, sr = sf.read(work / "k.wav")
        y = np.abs(y).max(1)
        out["sfizz_kick_peaks_dbfs"] = [round(float(20 * np.log10(y[i * sr:(i + 1) * sr].max() + 1e-12)), 1)
                                        for i in range(4)]
    kit = sequencer.load_kit(samples)
    p = patterns.parse('[tracks]\nkick = "X...X...X...X..."')
    _, stems = sequencer.render(p, kit, bpm=120, bars=4, master="none", stems=True)
    y, step = np.abs(stems["kick"]).max(1), 44100 // 2
    peaks = [20 * np.log10(y[i * step:(i + 1) * step].max() + 1e-12) for i in range(16)]
    out["beat_accent_peaks_db"] = [round(float(min(peaks)), 1), round(float(max(peaks)), 1)]
    print(f"velocity layers of {src.name}: Hydrogen keeps them: {out['hydrogen_layers_kept']}; "
          f"h2cli: {out.get('h2cli_says', '-')}; SFZ kick layers {out['sfz_kick_layers']}; sfizz kick at "
          f"20/60/100/127: {out.get('sfizz_kick_peaks_dbfs', '-')} dBFS; 16 accents in a beat peak "
          f"{out['beat_accent_peaks_db'][0]} .. {out['beat_accent_peaks_db'][1]} dB")
    return out


if __name__ == "__main__":
    raise SystemExit(main())

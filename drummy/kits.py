"""Drum-kit formats: Hydrogen `drumkit.xml` and SFZ, read into labelled sample lists,
and written (with plain type folders) from them."""
from __future__ import annotations

import errno
import hashlib
import math
import os
import re
import shutil
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path


from . import audio
from .labels import (GM_NOTE_OF_TYPE, GM_NOTE_OF_WORDS, GM_SIBLING, TYPES, UNKNOWN, fold_accents, gm_note_of,
                     machines_in, normalise, parse_note, type_of, type_of_note)


class KitError(Exception):
    """A kit file that cannot be read; the message is one line for the user."""


@dataclass
class KitSample:
    """One sample a kit file points at, with the labels the kit gives it."""
    path: Path
    drum_type: str
    tags: list[str] = field(default_factory=list)
    kit: str = ""
    instrument: str = ""
    note: int | None = None   # the MIDI note the kit plays it on (an SFZ key; a Hydrogen kit's, where laid out as GM)
    origin: str = ""          # the file to name to the user, when path is a workspace's stored copy of it
    loose: bool = False       # a file found in a folder, not one a kit file names: it must sound like a one-shot
    velocity: tuple[float, float] | None = None   # the velocity layer it plays in, (low, high) of 0..1 (= MIDI / 127)
    gain: float = 1.0         # the level the kit plays it at (linear): Hydrogen's volumes and gains, SFZ's volume=
    pan: float = 0.0          # where its kit places it: -1 left .. 1 right (Hydrogen's pan, SFZ's pan=)
    start: int = 0            # the slice of the file it plays: frames start..end-1 @ the file's own rate
    end: int | None = None    # (exclusive; None: to the file's end), from an SFZ region's offset= and end=

    def load(self, **kw):
        """Its audio, its slice only (`audio.load`'s keywords). A workspace's stored copy that is
        gone or damaged is named as such, with what repairs it: the producer's own file (`origin`),
        which a beat or an export names, is whole ("no such file" sent one to look for a sample it had)."""
        try:
            return audio.load(self.path, start=self.start, end=self.end, **kw)
        except audio.AudioError as e:
            if not self.origin:
                raise
            raise audio.AudioError(f"the workspace's copy of it, {self.path}, is gone or damaged ({e}); "
                                   f"`drummy ingest` its file again to repair it") from None

    @property
    def shown(self) -> str:
        """The file to name to the user: its origin, else its path and slice (`slice_key`)."""
        return self.origin or slice_key(self.path, self.start, self.end)


def slice_key(path: str | Path, start: int = 0, end: int | None = None) -> str:
    """A file, or a slice of it, as one string (how the library records it, how it is named to
    the user): the path alone for the whole file, else `<path>#frames=<start>-<end>` (end
    exclusive, empty for the file's end)."""
    return str(path) if (start, end) == (0, None) else f"{path}#frames={start}-{'' if end is None else end}"


def file_of_key(key: str) -> str:
    """The file a `slice_key` names: the key less a slice's `#frames=...`."""
    return re.sub(r"#frames=\d+-\d*$", "", key)


def is_kit_file(path: str | Path) -> bool:
    """Whether a file's name makes it a kit file Drummy reads: a Hydrogen drumkit.xml or an .sfz."""
    path = Path(path)
    return path.name == "drumkit.xml" or path.suffix.lower() == ".sfz"


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def read_hydrogen(xml_path: str | Path) -> list[KitSample]:
    """Samples of a Hydrogen kit: each instrument's layer files, labelled from the
    instrument's type (Hydrogen 2's `<type>`), else its name (the kit name becomes a tag). Handles the old flat format
    (`<filename>` directly in `<instrument>`) and newer layered ones."""
    xml_path = Path(xml_path)
    from .library import file_labels                     # (a generated hit's tags: its sidecar's recipe)
    try:
        root = ET.parse(xml_path).getroot()
    except (ET.ParseError, OSError) as e:
        raise KitError(f"{xml_path}: not a readable drumkit.xml ({e})") from None
    if _local(root.tag) != "drumkit_info":        # well-formed XML of something else: said, not an empty kit
        raise KitError(f"{xml_path}: not a Hydrogen drumkit (its root element is <{_local(root.tag)}>, "
                       f"not <drumkit_info>)")
    kit_name = next((c.text or "" for c in root if _local(c.tag) == "name"), xml_path.parent.name)
    kit_tag = normalise(kit_name)
    components = {c_id: _number(comp, "volume") for comp in root.iter() if _local(comp.tag) == "drumkitComponent"
                  for c_id in [next((c.text.strip() for c in comp if _local(c.tag) == "id" and c.text), None)] if c_id}
    slots: list[list[KitSample]] = []   # one per file: its layers, from the instrument that plays it
    seen: dict[str, int] = {}        # a file several instruments play (GM aliases: Tom, Floor Tom ...) is one sound
    for inst in root.iter():
        if _local(inst.tag) != "instrument":
            continue
        name = next((c.text or "" for c in inst if _local(c.tag) == "name"), "")
        note_el = next((c.text for c in inst if _local(c.tag) == "midiOutNote"), None)
        kind = next((c.text or "" for c in inst if _local(c.tag) == "type"), "")   # Hydrogen 2's "Hi-hat Open"
        pan = _hydrogen_pan(inst)
        mine: dict[str, list[KitSample]] = {}
        for f, velocity, gain in _hydrogen_layers(inst, components):
            drum_type, tags = file_labels([name, Path(f).stem], xml_path.parent / f)
            # The instrument name is the kit author's word on what it is; the file
            # name only decides when the instrument name says nothing.
            # Within the hat family the file may be more specific: a "Pedal HH"
            # whose layers include `hihat-open-1.flac` holds an open hat there.
            t = type_of(kind) or type_of(name)
            if t == "hihat" and type_of(Path(f).stem) == "open hat":
                t = "open hat"
            drum_type = t if t is not None else drum_type
            tags = _with_kit_tag(kit_tag, tags)
            mine.setdefault(f, []).append(KitSample(
                xml_path.parent / f, drum_type, tags, kit_name, name,
                int(note_el) if note_el and note_el.strip().lstrip("-").isdigit() else None,
                velocity=velocity, gain=gain, pan=pan))
        for f, layers in mine.items():
            if f not in seen:
                seen[f] = len(slots)
                slots.append(layers)
            elif _plays_better(slots[seen[f]][0], name, note_el):
                slots[seen[f]] = layers
    out = [s for layers in slots for s in layers]
    if not out:
        raise KitError(f"{xml_path}: no instrument with a sample file in it")
    return _typed_by_notes(out)


def _plays_better(first: KitSample, name: str, note_text: str | None) -> bool:
    """Whether instrument `name` on note `note_text` is the one a file both play belongs to, rather
    than `first`'s: the one whose note its file's name says (Drummy's exports name each drum:
    cymbal-ride-01 is the ride, though the crash 2 slot plays it too)."""
    try:
        note = int(note_text or "")
    except ValueError:
        return False
    t = type_of(name) or first.drum_type
    own = gm_note_of(Path(first.path).stem, t) or GM_NOTE_OF_TYPE.get(t)
    return note == own and first.note != own


def _child_float(el, tag: str) -> float | None:
    """A child element's finite number, or None where it is missing or no number."""
    text = next((c.text for c in el if _local(c.tag) == tag), None)
    try:
        x = float(text)
    except (TypeError, ValueError):
        return None
    return x if math.isfinite(x) else None


def _number(el, tag: str, default: float = 1.0) -> float:
    """A child element's non-negative number, or default where it is missing or no such number."""
    x = _child_float(el, tag)
    return min(x, MAX_GAIN) if x is not None and x >= 0 else default


MAX_GAIN = 10 ** (24 / 20)   # a kit's level beyond +24 dB is a broken file's, not a mix


def _hydrogen_pan(inst) -> float:
    """An instrument's place in the kit's stereo image, -1 left .. 1 right: Hydrogen 1.2's `<pan>`,
    else the older `<pan_L>` and `<pan_R>` (each side's level, 1 and 1 in the centre: pan_R - pan_L)."""
    pan = _child_float(inst, "pan")
    if pan is None:
        left, right = _child_float(inst, "pan_L"), _child_float(inst, "pan_R")
        pan = (right - left) if left is not None and right is not None else 0.0
    return min(max(pan, -1.0), 1.0)


def _hydrogen_layers(inst, components: dict[str, float] | None = None
                     ) -> list[tuple[str, tuple[float, float] | None, float]]:
    """What an instrument plays, in order: (file, velocity layer (`_layer_range`), level) for each
    <layer>, a file in several layers once for each (kit-0.9.3's Kick-Hard.wav in 4, each at its own
    gain). The level is the instrument's volume and gain, its component's gain and the kit's volume
    for that component (a room mic's 0.25), and its layer's (Millo_MultiLayered3's kick layers: 3,
    2.7, 2.4, 1.95), at most MAX_GAIN; 0 for every file of a muted instrument, component or layer
    (Hydrogen plays it at no level)."""
    def muted(el) -> bool:          # an instrument's, and Hydrogen 2's component's and layer's
        return (next((c.text for c in el if _local(c.tag) == "isMuted"), "") or "").strip().lower() == "true"

    base = 0.0 if muted(inst) else _number(inst, "volume") * _number(inst, "gain")
    out: list[tuple[str, tuple[float, float] | None, float]] = []
    for comp in [c for c in inst if _local(c.tag) == "instrumentComponent"] or [inst]:
        c_id = next((c.text.strip() for c in comp if _local(c.tag) == "component_id" and c.text), None)
        g = base * ((_number(comp, "gain") * (components or {}).get(c_id, 1.0)) if comp is not inst else 1.0)
        g = 0.0 if comp is not inst and muted(comp) else g
        for layer in (c for c in comp if _local(c.tag) == "layer"):
            f = next((c.text.strip() for c in layer if _local(c.tag) == "filename" and c.text), None)
            if f:
                out.append((f, _layer_range(layer), 0.0 if muted(layer) else min(g * _number(layer, "gain"), MAX_GAIN)))
    played = {f for f, _, _ in out}
    for f in (el.text.strip() for el in inst.iter() if _local(el.tag) == "filename" and el.text):   # the old flat format
        if f not in played:
            out.append((f, None, min(base, MAX_GAIN)))
    return list(dict.fromkeys(out))


def _gm_agreeing(typed: list[tuple[str, int]]) -> int:
    """How many (type a name says, note the kit plays it on) pairs the General MIDI drum map agrees
    with (within the hats, open or closed)."""
    return sum(type_of_note(n) == t or {type_of_note(n), t} <= {"hihat", "open hat"} for t, n in typed)


def _typed_by_notes(samples: list[KitSample]) -> list[KitSample]:
    """A kit laid out as the General MIDI drum map (its instruments' MIDI notes distinct, and
    those of the instruments whose names say their type agreeing with GM) types the rest by
    their notes: GMRockKit's "Bell" on note 53 is a ride bell. Most kits leave every note at
    Hydrogen's default, 60, which says nothing."""
    notes = {s.instrument: (s.drum_type, s.note) for s in samples}
    typed = [(t, n) for t, n in notes.values() if t != UNKNOWN and n is not None]
    agree = _gm_agreeing(typed)
    if len(typed) < 4 or agree < 0.8 * len(typed) or len({n for _, n in notes.values()}) < 0.8 * len(notes):
        for s in samples:              # notes that say nothing are no notes
            s.note = None
        return samples
    for s in samples:
        if s.drum_type == UNKNOWN and s.note is not None:
            s.drum_type = type_of_note(s.note)
    return samples


def _with_kit_tag(kit_tag: str, tags: list[str]) -> list[str]:
    """The kit's name first (and the drum machine it names: `machines_in`), then the other tags
    less those it holds: an SFZ "My Kit.sfz" keeping its audio in "my-kit/" adds no tag "my" of
    that folder's."""
    if not kit_tag:
        return tags
    words = set(kit_tag.split())
    return [kit_tag, *machines_in(kit_tag), *[x for x in tags if not set(x.split()) <= words]]


def note_of(s: KitSample) -> int | None:
    """Which drum of its type a sample is, as the General MIDI note it answers to: its kit's
    note where that is of its type (an SFZ kit's ride on 51), else what its names say
    (`labels.gm_note_of`: "Ride Jazz" -> 51, "Tom Hi" -> 50, "Pedal HH" -> 44); None for a
    plain one of its type."""
    if s.note is not None and type_of_note(s.note) == s.drum_type:
        return s.note
    kit = normalise(s.kit)       # not the kit's name nor a folder's phrase: a "Lo-Fi Pack" holds no low toms only
    for text in (s.instrument, Path(s.path).stem, " ".join(t for t in s.tags if t != kit and " " not in t)):
        if (note := gm_note_of(text, s.drum_type)) is not None:      # the instrument's name first ("Ride Cup",
            return note                                              # file crash20i__ride-cup1)
    return None


def _layer_range(layer) -> tuple[float, float] | None:
    """A Hydrogen <layer>'s <min>..<max> velocity (0..1), or None when it spans them all
    (or says nothing readable)."""
    vals = {_local(c.tag): c.text for c in layer if _local(c.tag) in ("min", "max")}
    try:
        lo, hi = float(vals.get("min", 0)), float(vals.get("max", 1))
    except (TypeError, ValueError):
        return None
    lo, hi = max(0.0, lo), min(1.0, hi)
    # min > max: a layer Hydrogen never plays; Drummy plays it only where no layer holds a velocity
    return (lo, hi) if lo > 0 or hi < 1 else None


def layer_gap(layer: tuple[float, float] | None, v: float) -> float:
    """How far velocity v (0..1) lies outside a velocity layer (0 inside it; a sound of no
    layer holds every velocity): the measure beats and the SFZ export choose layers by."""
    return 0.0 if layer is None else max(layer[0] - v, v - layer[1], 0.0)


def _sfz_range(region: dict[str, str]) -> tuple[float, float] | None:
    """An SFZ region's lovel..hivel as 0..1, or None when it spans every velocity."""
    try:
        lo, hi = int(region.get("lovel", 0)), int(region.get("hivel", 127))
    except ValueError:
        return None
    lo, hi = (0 if lo <= 1 else lo), min(127, hi)          # velocity 0 is a note-off: lovel=1 is the bottom
    return (lo / 127, hi / 127) if lo <= hi and (lo > 0 or hi < 127) else None


_HEADER = re.compile(r"<(\w+)>")
_OPCODE = re.compile(r"(\w+)=(.*?)(?=\s+\w+=|\s*<\w+>|\s*$)")


# `#define $NAME value` (its value runs to the line's end or the next directive: kits write two defines
# on a line) and `#include "file"`, anywhere on a line (`<group> #include "regions.txt"`), as sfizz reads them
_DIRECTIVE = re.compile(r'#define\s+(\$\w+)\s+(.*?)\s*(?=#define\b|#include\b|$)|#include\s+"([^"]+)"')


def _sfz_pan(region: dict[str, str]) -> float:
    """A region's `pan` (-100 left .. 100 right) as -1 .. 1."""
    try:
        pan = float(region.get("pan", 0))
    except ValueError:
        return 0.0
    return min(max(pan / 100, -1.0), 1.0) if math.isfinite(pan) else 0.0


def _sfz_gain(region: dict[str, str]) -> float:
    """A region's level: `volume` (dB, -144..48 as sfizz reads it: General MIDI banks set +8 to +36 dB
    on quiet recordings; SFZ 1's +6 flattened their layers' balance), plus sfizz's `global_`, `master_` and `group_volume`,
    and `amplitude` (percent, with its global_, master_ and group_ kin), as SFZ players apply them."""
    try:
        db = min(max(float(region.get("volume", 0)), -144.0), 48.0) + sum(
            float(region.get(f"{h}_volume", 0)) for h in ("global", "master", "group"))
        amp = math.prod(min(max(float(region.get(f"{h}amplitude", 100)), 0.0), 100.0) / 100
                        for h in ("", "global_", "master_", "group_"))
    except ValueError:
        return 1.0
    return 10 ** (db / 20) * amp if math.isfinite(db) and math.isfinite(amp) else 1.0


def _sfz_text(path: Path, top: Path | None = None, defines: dict[str, str] | None = None, depth: int = 0,
              included: set[Path] | None = None, missing: list[Path] | None = None) -> str:
    """An SFZ file's text as a player reads it: /* block comments */ removed, each
    `#define $NAME value` put in where $NAME is used after it, and each `#include "file"`
    replaced by that file (found, like samples, from the top file's folder; 8 deep at most)."""
    top = top or path.parent
    defines = {} if defines is None else defines
    try:
        text = path.read_text(encoding="utf-8-sig", errors="replace")     # a BOM would hide a first #define
    except OSError as e:
        raise KitError(f"{path}: cannot read ({e.strerror})") from None
    def put(text: str) -> str:
        for name in sorted(defines, key=len, reverse=True):   # $DIR2 before $DIR
            text = text.replace(name, defines[name])
        return text

    lines = []
    for line in re.sub(r"/\*.*?\*/", " ", text, flags=re.S).splitlines():
        line, pos = line.split("//", 1)[0], 0
        for m in _DIRECTIVE.finditer(line):
            lines.append(put(line[pos:m.start()]))
            pos = m.end()
            if m.group(1):
                defines[m.group(1)] = put(m.group(2))          # a value naming an earlier define: spelt out
            elif depth < 8:
                inc = top / put(m.group(3)).replace("\\", "/")
                if included is not None:
                    included.add(inc.resolve())
                if missing is not None and not inc.is_file():     # a part not there: the rest plays, as in sfizz
                    missing.append(inc)
                    continue
                lines.append(_sfz_text(inc, top, defines, depth + 1, included, missing))
        lines.append(put(line[pos:]))
    return "\n".join(line for line in lines if line.strip())


def sfz_includes(path: str | Path) -> set[Path]:
    """The files an SFZ file pulls in with #include (resolved): parts of it, not kits of
    their own. Empty when it cannot be read."""
    found: set[Path] = set()
    try:
        _sfz_text(Path(path), included=found)
    except KitError:
        pass
    return found


def _parse_sfz(text: str) -> list[tuple[str, dict[str, str]]]:
    """Flatten SFZ text (`_sfz_text`) into (header, opcodes) pairs in file order."""
    out: list[tuple[str, dict[str, str]]] = []
    for line in text.splitlines():
        line = line.split("//", 1)[0]
        pos = 0
        for m in _HEADER.finditer(line):
            if out:
                out[-1][1].update(dict(_OPCODE.findall(line[pos:m.start()])))
            out.append((m.group(1), {}))
            pos = m.end()
        rest = line[pos:]
        if rest.strip():
            if not out:
                out.append(("global", {}))
            out[-1][1].update({k: v.strip() for k, v in _OPCODE.findall(rest)})
    return out


def _sfz_header(ops: dict[str, str]) -> dict[str, str]:
    """A header's opcodes with `key=` spelt out as players read it: lokey, hikey and pitch_keycenter
    (so a group's `key=36` gives way to its region's own `lokey=38 hikey=38`)."""
    if "key" in ops:
        return {"lokey": ops["key"], "hikey": ops["key"], "pitch_keycenter": ops["key"],
                **{k: v for k, v in ops.items() if k != "key"}}
    return ops


def _sfz_note(text: str | None, shift: int) -> int | None:
    try:
        return parse_note(text) + shift if text is not None else None
    except ValueError:
        return None


def _sfz_plays(region: dict[str, str]) -> bool:
    """Whether a player sounds a region as a hit when its key is struck: not a release noise
    (`trigger=release`), not a silent region (`end=-1`, or 0), not a velocity range no velocity
    falls in (lovel > hivel), not an articulation other than the default keyswitch's (`sw_last`
    against `sw_default`)."""
    if region.get("trigger", "attack") in ("release", "release_key"):
        return False
    if region.get("end") in ("0", "-1"):        # a silent region (it only chokes others); sfizz plays no end=0 either
        return False
    try:
        if int(region.get("lovel", 0)) > int(region.get("hivel", 127)):
            return False
    except ValueError:
        pass
    if "sw_last" in region and "sw_default" in region:
        return _sfz_note(region["sw_last"], 0) == _sfz_note(region["sw_default"], 0)
    return True


def _sfz_slice(region: dict[str, str]) -> tuple[int, int | None] | str:
    """A region's `offset=`..`end=` as (start, end) frames of its file, end exclusive (SFZ's
    end is the last frame played; None: to the file's end), or why it plays no slice."""
    try:
        start = int(region.get("offset", 0))
        end = int(region["end"]) + 1 if "end" in region else None
    except ValueError:
        return "not whole numbers of frames"
    if start < 0 or end is not None and end < 0:
        return "a frame number below 0"
    if end is not None and end <= start:
        return "it ends before it starts, so it plays nothing"
    return start, end


def _any_case(base: Path, rel: str) -> Path:
    """base / rel, each part of rel matched regardless of case where no file or folder has it
    exactly, as sfizz finds a sample (kits made on Windows write `Samples\\KICK.WAV` for
    samples/Kick.wav); base / rel itself where nothing matches (reported missing as named)."""
    exact = base / rel
    if exact.exists():
        return exact
    here = base
    for part in Path(rel).parts:
        if (here / part).exists() or part in ("..", "."):
            here = here / part
            continue
        try:
            match = next((n for n in sorted(os.listdir(here)) if n.lower() == part.lower()), None)
        except OSError:
            return exact
        if match is None:
            return exact
        here = here / match
    return here


# The keys Roland's GS and General MIDI 2 drum maps add around GM's: High Q, Slap, Scratch, Sticks, clicks
# (27-34); Shaker, Jingle Bell, Bell Tree, Castanets, Surdo (82-87). A GM bank's SFZ kit plays them there
# (the Discord GM bank: 13 of 41 samples were unknown). Read in SFZ kits laid out as GM only: in MIDI files
# and other maps (Superior Drummer, EZdrummer) those notes are other drums.
_GS_PERC_NOTES = set(range(27, 35)) | set(range(82, 88))


def _sfz_key_type(note: int) -> str:
    """The drum type a GM-laid-out SFZ kit's key gives: GM's, and percussion on GS's and GM2's own keys."""
    return "perc" if note in _GS_PERC_NOTES else type_of_note(note)


def read_sfz(sfz_path: str | Path, skipped: list[tuple[str, str]] | None = None) -> list[KitSample]:
    """Samples of an SFZ instrument: each `<region>` a player sounds as a hit (`_sfz_plays`),
    labelled from its key as a General MIDI drum note where the kit is laid out as GM
    (the regions whose names say their type agree with their keys), else from the sample's
    and its group's names. `<control>`'s `default_path`, `note_offset` and `octave_offset`,
    `<global>/<master>/<group>` inheritance, `#define` and `#include` are honoured. A region
    playing a slice of its file (`offset=`, `end=`) is a sample of that slice alone; one whose
    slice cannot be read (`_sfz_slice`) is left out, and added to `skipped` as (`<file>#<its
    offset= and end=>`, why); so is an #include'd file that is not there (the rest of the kit is read,
    as sfizz reads it; without `skipped`, it is an error)."""
    sfz_path = Path(sfz_path)
    from .library import file_labels                     # (a generated hit's tags: its sidecar's recipe)
    missing: list[Path] = []
    text = _sfz_text(sfz_path, missing=missing)
    if missing and skipped is None:
        raise KitError(f"{sfz_path}: its #include {missing[0]} is not there")
    if skipped is not None:
        skipped += [(str(m), f"#include'd by {sfz_path.name}, and not there: its regions are left out") for m in missing]
    kit_name = sfz_path.stem
    default_path, shift, glob, master, group = "", 0, {}, {}, {}
    found: list[tuple[KitSample, str | None]] = []      # (sample, the type its names give)
    seen: set[tuple] = set()
    for header, ops in _parse_sfz(text):
        if header == "control":
            default_path = ops.get("default_path", default_path)
            try:
                shift = 12 * int(ops.get("octave_offset", 0)) + int(ops.get("note_offset", 0))
            except ValueError:
                pass
        elif header == "global":
            glob, master, group = _sfz_header(ops), {}, {}
        elif header == "master":
            master, group = _sfz_header(ops), {}
        elif header == "group":
            group = _sfz_header(ops)
        elif header == "region":
            region = {**glob, **master, **group, **_sfz_header(ops)}
            sample = region.get("sample")
            if not sample or sample.startswith("*") or not _sfz_plays(region):   # *sine: the player's own
                continue
            # no file is named with a NUL (a damaged line, and a path that cannot be opened): it is
            # reported as missing under the name written out, as a region naming any missing file is
            rel = (default_path + sample).replace("\\", "/").replace("\x00", "<NUL>")
            where = _any_case(sfz_path.parent, rel)
            velocity, gain, frames = _sfz_range(region), _sfz_gain(region), _sfz_slice(region)
            if isinstance(frames, str):
                if skipped is not None:
                    said = " ".join(f"{k}={region[k]}" for k in ("offset", "end") if k in region)
                    skipped.append((f"{where.resolve()}#{said}",
                                    f"its region in {sfz_path.name} ({said}): {frames}; left out"))
                continue
            if frames[1] is not None and frames[1] >= (audio.frames_of(where) or math.inf):
                frames = (frames[0], None)               # to the file's end (offset=0 end=<its last frame>: all of it)
            if (rel, frames, velocity, gain) in seen:   # one file on several keys (GM aliases) is one sample, the
                continue                                # first key's (Drummy's exports write each drum's own key first)
            seen.add((rel, frames, velocity, gain))
            note = _sfz_note(region.get("lokey", region.get("hikey")), shift)
            names = [region.get("group_label", ""), *Path(rel).parent.parts, Path(rel).stem]
            drum_type, tags = file_labels(names, where)
            tags = _with_kit_tag(normalise(kit_name), tags)
            found.append((KitSample(where, drum_type, tags, kit_name, region.get("group_label", ""),
                                    note, velocity=velocity, gain=gain, pan=_sfz_pan(region), start=frames[0],
                                    end=frames[1]),
                          drum_type if drum_type != UNKNOWN else None))
    if not found:
        raise KitError(f"{sfz_path}: no <region> with a sample= in it" + (" (empty file)" if not text.strip() else ""))
    named = [(t, s.note) for s, t in found if t is not None and s.note is not None and type_of_note(s.note) != UNKNOWN]
    agree = _gm_agreeing(named)
    gm = agree > 0.5 * len(named) or not named             # one drum per white key, a snare on middle C: no GM kit
    # a file sliced onto three or more keys in a row is a chopped loop (an MPC's or a slicer's: slice 1
    # on 36, 2 on 37, ...): its keys count slices, they name no drums (slices on 36, 38, 42 are a kit's)
    keys: dict[Path, set] = {}
    for s, _ in found:
        if (s.start, s.end) != (0, None) and s.note is not None:
            keys.setdefault(s.path, set()).add(s.note)
    chopped = {p for p, k in keys.items() if len(k) >= 3 and max(k) - min(k) + 1 == len(k)}
    out = []
    for s, named_type in found:
        key_type = _sfz_key_type(s.note) if s.note is not None and s.path not in chopped else UNKNOWN
        # (a side stick, a rim click or a tambourine its names also say is a snare's or a hat's stays percussion)
        if gm and key_type == "perc" and named_type not in (None, "perc") and s.note != 37 \
                and gm_note_of(f"{s.instrument} {s.path.parent.name} {s.path.stem}", "perc") is None:
            pass        # a drum its names call a kit's drum, on a key GM gives a Latin one: its author's word, as in a
                        # Hydrogen kit (DrumGizmo DRSKit's closed hat on 56, Naked Drums' on 54)
        elif gm and key_type != UNKNOWN:
            # the key decides, but within the hats the name may be more specific: an open hat on the
            # closed hat's key (a pedal CC picks it in the player)
            s.drum_type = "open hat" if key_type == "hihat" and named_type == "open hat" else key_type
        elif not gm:
            s.note = None
        out.append(s)
    return _joined_layers(out)


def _joined_layers(samples: list[KitSample]) -> list[KitSample]:
    """A sample a key plays over velocity runs that meet (0-23 and 24-48), at one level and place,
    as one sample over both: Drummy's export splits layers into runs wherever another layer begins,
    and each run read as a sound of its own held a kit's 10 snares as 28 (`--no-repeat` repeated files)."""
    out: list[KitSample] = []
    last: dict[tuple, KitSample] = {}
    for s in samples:
        key = (s.path, s.note, s.drum_type, s.gain, s.pan, s.start, s.end)
        prev = last.get(key)
        if prev is not None and s.velocity is not None and prev.velocity is not None \
                and -1e-9 <= s.velocity[0] - prev.velocity[1] <= 1 / 127 + 1e-9:
            prev.velocity = (prev.velocity[0], s.velocity[1])
            continue
        last[key] = s
        out.append(s)
    return out


# --- writing kits ---------------------------------------------------------------------
# Every writer takes labelled samples (KitSample), copies their audio into the kit
# atomically (wav/flac/ogg/aiff byte for byte; a slice of a file, and anything else, as
# 24-bit WAV through audio.write)
# and maps each drum type to its General MIDI note. Samples of unknown type are left
# out. Reading a written kit back with read_hydrogen / read_sfz (or ingesting its
# folder) gives the same drum types and the same audio.

HYDROGEN_NS = "http://www.hydrogen-music.org/drumkit"
HYDROGEN_MAX_LAYERS = 16        # Hydrogen's per-instrument layer limit; more samples -> "Kick 2", ...
SFZ_MAX_ROUND_ROBIN = 100       # the largest seq_length the SFZ spec allows; beyond it: random choice
SFZ_MAX_GAIN = 10 ** (6 / 20)   # SFZ's volume= runs to +6 dB
KIT_FORMATS = ("folder", "hydrogen", "sfz")
_COPY_AS_IS = {".wav", ".flac", ".ogg", ".aif", ".aiff"}  # what Hydrogen and SFZ players read
_INSTRUMENT_NAME = {"kick": "Kick", "snare": "Snare", "clap": "Clap", "hihat": "Hi Hat",
                    "open hat": "Open Hat", "tom": "Tom", "cymbal": "Cymbal", "perc": "Perc"}
_HAT_TYPES = ("hihat", "open hat")  # one mute/choke group: a closed hat cuts an open one


def _slug(text: str) -> str:
    """A file-name-safe form of a name or tag, digits kept ("Kit 2" -> kit-2), accents
    folded ("Kït" -> kit), letters of any script kept ("キック 01" -> キック-01: its tag reads
    back), at most 100 characters."""
    out = re.sub(r"[\W_]+", "-", fold_accents(text).lower())[:100].strip("-")
    return out or "hit"


def _by_type(samples: list[KitSample]) -> dict[str, list[KitSample]]:
    """Known-type samples grouped by type, in labels.TYPES order."""
    groups = {t: [s for s in samples if s.drum_type == t] for t in TYPES}
    groups = {t: g for t, g in groups.items() if g}
    if not groups:
        raise KitError("nothing to export: no samples with a known drum type")
    return groups


# The word that names each drum of a type in an exported file ("cymbal-ride-jazz-01"), so that it reads back
_WORD_OF_NOTE = {n: w for words in GM_NOTE_OF_WORDS.values() for w, n in reversed(list(words.items()))
                 if len(w) > 3 and not w.endswith("tom")}          # (not "ltom": a file named tom-ltom-01)


def slot_note(s: KitSample) -> int:
    """The GM note a sample is played on in an exported kit: its own drum's (`note_of`), else its type's."""
    return note_of(s) or GM_NOTE_OF_TYPE[s.drum_type]


def _slot_files(by_note: dict[int, list], note: int, dtype: str) -> list:
    """What a kit's GM slot `note` (of type `dtype`) plays, from its type's files by note: its own,
    else its GM sibling's (Ride 2 the ride, as a beat plays it), else its type's plain ones, else
    the nearest drum's of its type (a floor tom slot, a kit of high and low toms); [] for a type
    the kit lacks. A percussion slot plays its own drum only: each is another instrument, and a
    kit's vibraslap, cabasa and low bongo keys played its cajons, snaps and cowbells."""
    for n in (note, GM_SIBLING.get(note)):
        if by_note.get(n):
            return by_note[n]
    if dtype == "perc":
        return []
    main = GM_NOTE_OF_TYPE[dtype]
    if by_note.get(main):
        return by_note[main]
    return by_note[min(by_note, key=lambda n: abs(n - note))] if by_note else []


def _generated(s: KitSample) -> bool:
    """Whether a sample is a hit `drummy generate` wrote: a Drummy sidecar beside it."""
    from .library import drummy_sidecar
    return drummy_sidecar(s.origin or s.path) is not None


def _file_names(samples: list[KitSample], taken: set[str]) -> list[str]:
    """A unique, descriptive file stem per sample: type, its drum, tags, number ("kick-808-boom-01",
    "cymbal-ride-jazz-01"); a generated hit keeps its own name, which says its recipe, controls, seed
    and number ("snare80-hihat20_s0_03"): "clap-07" named nothing a producer could make again."""
    out = []
    for s in samples:
        # as generate wrote it, bar characters a kit file's name might trip on: ingest reads a blend's
        # type from it (snare80-hihat20_s0_03 is a snare, `library._name_recipe`), which a slug would lose
        own = re.sub(r"[^\w+.-]+", "-", fold_accents(Path(s.origin or s.path).stem))[:100].strip("-.") \
            if _generated(s) else ""
        if own and own not in taken:
            taken.add(own)
            out.append(own)
            continue
        drum = _WORD_OF_NOTE.get(note_of(s) or 0, "")
        words = " ".join([s.drum_type, drum, *[t for t in s.tags if t != normalise(s.kit)]]).split()
        base = own or _slug(" ".join(list(dict.fromkeys(words))[:6]))      # (two hits of one name: numbered)
        i = 1
        while f"{base}-{i:02d}" in taken:
            i += 1
        taken.add(f"{base}-{i:02d}")
        out.append(f"{base}-{i:02d}")
    return out


def _players_read(src: Path) -> bool:
    """Whether kit players play src as it is: a format they read (`_COPY_AS_IS`), one or two
    channels (sfizz plays a 6-channel file as silence), and no float sample over full scale."""
    import soundfile as sf
    if src.suffix.lower() not in _COPY_AS_IS:
        return False
    try:
        info = sf.info(audio._os_path(src))
    except Exception:                       # (libsndfile's errors): decode says why
        return False
    if info.channels > 2:
        return False
    return info.subtype not in ("FLOAT", "DOUBLE") or audio.sample_peak(audio.decode(src)[0]) <= 1.0


def _place_audio(s: KitSample, dest_stem: Path, bake: bool = False) -> tuple[Path, float]:
    """`_place_hit`, and a generated hit's JSON sidecar beside it under its new name: the kit's
    copy can be made again (`generate --from`), and ingest reads its recipe's labels from it,
    not its name's controls and numbers as tags ("bright", "s5")."""
    from .library import sidecar_of
    placed = _place_hit(s, dest_stem, bake)
    if _generated(s):
        side = sidecar_of(s.origin or s.path)
        audio.atomic_write(placed[0].with_suffix(".json"), lambda tmp: shutil.copyfile(side, tmp))
    return placed


def _place_hit(s: KitSample, dest_stem: Path, bake: bool = False) -> tuple[Path, float]:
    """Copy a sample's file beside dest_stem with its own extension, or transcode it to a
    24-bit WAV with its own rate when kit players may not play it as it is (`_players_read`)
    or it is a slice of its file (its frames alone, a file of its own: every player reads
    it, offset= or not): more than two channels are mixed to one, a float file over full
    scale is brought under it. bake: the level its kit plays it at (`gain`) goes into the
    audio, for a kit format with no place for it (a folder): a 32-bit float WAV where that
    takes it (or the file itself) over full scale. A workspace's stored copy (`origin`) that
    stops short of silence is faded over its last 2 ms, as a beat plays it: the store takes
    a hit's DC offset out, off its digital silence too. Returns the file written, and the gain
    the kit must add to play it at its level: how far it was brought under full scale."""
    src = Path(s.path)
    baked = bake and s.gain > 0 and s.gain != 1.0      # (a muted drum keeps its sound: a folder has no mute)
    stored = audio.decode(src, start=s.start, end=s.end) if s.origin else None     # read once, where it is
    stops = stored is not None and audio.ends_off_zero(stored[0])
    if baked or stops or (s.start, s.end) != (0, None) or not _players_read(src):
        data, rate = stored or audio.decode(src, start=s.start, end=s.end)
        if data.shape[1] > 2:
            data = audio.to_mono(data)
        data = data * s.gain if baked else data
        data = audio.fade_end(data, rate) if stops else data
        peak = audio.sample_peak(data)
        over = peak / 10 ** (-0.1 / 20)                                    # over what a written 24-bit file holds
        hot = bake and peak > 1            # (a folder keeps it hot, as it keeps a kit's level: in a float file)
        return audio.write(dest_stem.with_name(dest_stem.name + ".wav"), data, sr=rate, peak_db=None, fade_ms=0, remove_dc=False,
                           subtype="FLOAT" if hot else "PCM_24", cap=not hot), 1.0 if hot else max(over, 1.0)
    dest = dest_stem.with_name(dest_stem.name + src.suffix.lower())   # (not with_suffix: "bright-0.5_s2_01" has a dot)
    audio.atomic_write(dest, lambda tmp: shutil.copyfile(src, tmp))
    return dest, 1.0


def write_folder(samples: list[KitSample], outdir: str | Path) -> Path:
    """OUTDIR/<type>/<type-tags-NN>.<ext>: a folder `drummy ingest` labels right back. Each
    file holds its kit's level for it (a snare the kit plays 12 dB down is 12 dB down): a
    folder has nowhere else to keep it, and a beat of the folder then sounds as one of the kit.
    A file a kit plays in several velocity layers is written once, at its top layer's level."""
    outdir = Path(outdir)
    taken: set[str] = set()
    top: dict[tuple, KitSample] = {}       # a file in several velocity layers: once, as its top layer plays it
    for s in samples:
        key = (str(s.path), s.start, s.end)
        if key not in top or (s.velocity or (0, 1))[1] > (top[key].velocity or (0, 1))[1]:
            top[key] = s
    for dtype, group in _by_type([s for s in samples if top[(str(s.path), s.start, s.end)] is s]).items():
        for s, stem in zip(group, _file_names(group, taken)):
            _place_audio(s, outdir / dtype / stem, bake=True)
    return outdir


# The General MIDI drum notes a kit answers to besides each type's own (labels.GM_NOTE_OF_TYPE),
# with the names their instruments get: the whole drum map 35-59, and the Latin percussion notes
# Drummy's MIDI writes (`patterns._NOTE_OF_NAME`). A name that comes before its type's own note
# reads back as its type and no tag (a file several notes play reads back as the first).
GM_ALIASES = {35: ("kick", "Bass Drum"), 37: ("perc", "Side Stick"), 40: ("snare", "Snare 2"),
              41: ("tom", "Floor Tom"), 43: ("tom", "Tom 2"), 44: ("hihat", "Pedal Hat"), 47: ("tom", "Tom 3"),
              48: ("tom", "Tom 4"), 50: ("tom", "Tom 5"), 51: ("cymbal", "Ride"), 52: ("cymbal", "China"),
              53: ("cymbal", "Ride Bell"), 54: ("perc", "Tambourine"), 55: ("cymbal", "Splash"),
              57: ("cymbal", "Crash 2"), 58: ("perc", "Vibraslap"), 59: ("cymbal", "Ride 2"),
              **{n: ("perc", name) for n, name in enumerate(
                  ["Bongo", "Low Bongo", "Mute Conga", "Conga", "Low Conga", "High Timbale", "Low Timbale",
                   "High Agogo", "Low Agogo", "Cabasa", "Shaker", "Short Whistle", "Long Whistle", "Short Guiro",
                   "Long Guiro", "Clave", "Woodblock", "Low Woodblock", "Mute Cuica", "Open Cuica",
                   "Mute Triangle", "Open Triangle"], start=60)}}
# Hydrogen's MIDI input plays instrument i for note 36 + i: a kit holds these slots, all of them; up to
# 81 (the Latin percussion) when it has percussion or more hits of a type than one instrument holds
HYDROGEN_GM, HYDROGEN_GM_PERC = (36, 59), (36, 81)


def gm_slots(types: list[str], whole: tuple[int, int] | None = None) -> list[tuple[int, str, str]]:
    """(note, type, instrument name) for the notes of a kit holding `types`, by note: every
    note of those types; with `whole` (lo, hi), every note from lo to hi and no other, a
    type the kit lacks leaving its slot empty."""
    main = {n: (t, _INSTRUMENT_NAME[t]) for t, n in GM_NOTE_OF_TYPE.items() if t in _INSTRUMENT_NAME}
    slots = {**GM_ALIASES, **main}
    if whole is not None:
        return [(n, *slots[n]) for n in range(whole[0], whole[1] + 1)]
    return [(n, *slots[n]) for n in sorted(slots) if slots[n][0] in types]


def write_hydrogen(samples: list[KitSample], outdir: str | Path, name: str | None = None) -> Path:
    """A Hydrogen drumkit in OUTDIR: the audio files plus a `drumkit.xml` valid against
    Hydrogen 1.2's drumkit.xsd, laid out as the General MIDI drum map: instrument i plays
    note 36 + i, from 36 to 59, or to 81 for a kit with percussion or with overflow
    (Hydrogen's MIDI input maps notes so unless told otherwise; a slot of a type the kit
    lacks is empty). Every instrument of a type plays its samples
    round robin (as the SFZ export and Drummy's own beats do), among the layers whose
    velocity range holds the note's where its samples came from a kit's velocity layers
    (`KitSample.velocity`: Hydrogen's round robin keeps to those), and the
    hats share one mute group. Past 16 samples a drum (Hydrogen's layer limit) the rest go
    to "Kick B", ... after the GM slots. A kit's drums keep their own notes (`slot_note`: its
    ride on 51, its floor tom on 41); a slot of a drum the kit lacks plays the type's plain
    sounds, or its nearest drum's. Returns the drumkit.xml path."""
    outdir = Path(outdir)
    name = name or outdir.name
    ET.register_namespace("", HYDROGEN_NS)
    q = lambda tag: f"{{{HYDROGEN_NS}}}{tag}"  # noqa: E731

    def sub(parent, tag, text=None):
        el = ET.SubElement(parent, q(tag))
        if text is not None:
            el.text = str(text)
        return el

    root = ET.Element(q("drumkit_info"))
    sub(root, "name", name)
    sub(root, "author", "Drummy")
    sub(root, "info", "Exported by Drummy: General MIDI layout, round robin over each drum type's hits.")
    sub(root, "license", "")
    sub(root, "image", "")
    sub(root, "imageLicense", "")
    comp = sub(sub(root, "componentList"), "drumkitComponent")
    sub(comp, "id", 0), sub(comp, "name", "Main"), sub(comp, "volume", 1)
    insts = sub(root, "instrumentList")
    taken: set[str] = set()
    by_note: dict[str, dict[int, list[tuple[str, tuple[float, float] | None]]]] = {}   # type -> note -> files
    pan_of: dict[str, float] = {}                                                       # file -> its kit's pan
    for dtype, group in _by_type(samples).items():
        for s, stem in zip(group, _file_names(group, taken)):
            note = slot_note(s)
            if not HYDROGEN_GM_PERC[0] <= note <= HYDROGEN_GM_PERC[1]:   # Hydrogen answers 36 and up: 35 is the kick
                note = GM_NOTE_OF_TYPE[dtype]
            f, lift = _place_audio(s, outdir / stem)
            by_note.setdefault(dtype, {}).setdefault(note, []).append((f.name, s.velocity, s.gain * lift))
            pan_of[f.name] = s.pan
    # a kit louder than a drumkit.xml reads back (an SFZ bank's +30 dB drum) is turned down whole, its balance kept
    loudest = max((g for notes in by_note.values() for fs in notes.values() for _, _, g in fs), default=1.0)
    if loudest > MAX_GAIN:
        by_note = {t: {n: [(f, v, g * MAX_GAIN / loudest) for f, v, g in fs] for n, fs in notes.items()}
                   for t, notes in by_note.items()}
    chunks = {note: [fs[i:i + HYDROGEN_MAX_LAYERS] for i in range(0, len(fs), HYDROGEN_MAX_LAYERS)]
              for notes in by_note.values() for note, fs in notes.items()}
    more = "perc" in by_note or any(len(c) > 1 for c in chunks.values())   # overflow past 59 would answer bongos
    slots = gm_slots([], HYDROGEN_GM_PERC if more else HYDROGEN_GM)
    instruments = [(n, t, label, _slot_files(by_note.get(t, {}), n, t)[:HYDROGEN_MAX_LAYERS]) for n, t, label in slots]
    label_of = {n: label for n, _, label in slots}
    instruments += [(n, t, f"{label_of[n]} {chr(ord('A') + ci)}", c)
                    for t, notes in by_note.items() for n in notes for ci, c in enumerate(chunks[n]) if ci]
    for inst_id, (note, dtype, label, files) in enumerate(instruments):
        inst = sub(insts, "instrument")
        pan = sum(pan_of[f] for f, _, _ in files) / len(files) if files else 0.0    # where the kit placed them
        # element order follows Hydrogen's drumkit.xsd
        for tag, value in [("id", inst_id), ("name", label), ("volume", 1), ("isMuted", "false"),
                           ("isSoloed", "false"), ("pan_L", f"{min(1.0, 1 - pan):.6g}"),
                           ("pan_R", f"{min(1.0, 1 + pan):.6g}"), ("pitchOffset", 0),
                           ("randomPitchFactor", 0), ("gain", 1), ("applyVelocity", "true"),
                           ("filterActive", "false"), ("filterCutoff", 1), ("filterResonance", 0),
                           ("Attack", 0), ("Decay", 0), ("Sustain", 1), ("Release", 1000),
                           ("muteGroup", 0 if dtype in _HAT_TYPES else -1), ("midiOutChannel", -1),
                           ("midiOutNote", note), ("isStopNote", "false"),
                           ("sampleSelectionAlgo", "ROUND_ROBIN"), ("isHihat", -1), ("lower_cc", 0),
                           ("higher_cc", 127), ("FX1Level", 0), ("FX2Level", 0), ("FX3Level", 0),
                           ("FX4Level", 0)]:
            sub(inst, tag, value)
        ic = sub(inst, "instrumentComponent")
        sub(ic, "component_id", 0), sub(ic, "gain", 1)
        for f, v, g in files:
            layer = sub(ic, "layer")
            sub(layer, "filename", f)
            lo, hi = v or (0, 1)
            sub(layer, "min", f"{lo:.6g}"), sub(layer, "max", f"{hi:.6g}")
            sub(layer, "gain", f"{g:.6g}"), sub(layer, "pitch", 0)
    ET.indent(root, " ")
    xml = outdir / "drumkit.xml"
    text = '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
    audio.atomic_write(xml, lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))
    return xml


def _sfz_velocities(ranges: list[tuple[float, float]]) -> list[tuple[tuple, tuple[int, int]]]:
    """Velocity layers (0..1) as SFZ runs ((the layers, in `ranges`' order), (lovel, hivel)) that never
    overlap and cover 0..127: an SFZ player sounds every region a velocity falls in at once, where
    Hydrogen and Drummy's beats pick one of the layers holding it. So each run holds every layer that
    holds its velocities, for one round robin among them (two instruments merged on one key, a kit's
    open and semi-open hats, played only the narrower at some velocities), else the nearest layer."""
    def pick(v: int) -> tuple:
        held = tuple(r for r in ranges if layer_gap(r, v / 127) <= 1e-9)
        return held or (min(ranges, key=lambda r: (layer_gap(r, v / 127), r[1] - r[0])),)
    runs: list[tuple[tuple, tuple[int, int]]] = []
    for v in range(128):
        r = pick(v)
        if runs and runs[-1][0] == r:
            runs[-1] = (r, (runs[-1][1][0], v))
        else:
            runs.append((r, (v, v)))
    return runs


def write_sfz(samples: list[KitSample], outdir: str | Path, name: str | None = None) -> Path:
    """An SFZ instrument in OUTDIR: `<name>.sfz` plus its samples in OUTDIR/<name>/.
    Each drum type sits on its General MIDI key as one `<group>` that cycles through
    its samples round robin (seq_length / seq_position; random pick past 100),
    one-shot, with closed hats choking open hats; a kit's drums keep their own keys
    (`slot_note`: its ride on 51, its pedal hat on 44). Returns the .sfz path."""
    outdir = Path(outdir)
    name = name or outdir.name
    folder = _slug(name)
    lines = [f"// {' '.join(name.split())}: exported by Drummy. General MIDI drum keys (channel 10),",   # one line
             "// round robin over each drum type's samples; a closed hat chokes an open hat.",
             f"<control> default_path={folder}/", "", "<global> loop_mode=one_shot", ""]
    taken: set[str] = set()
    by_note: dict[str, dict[int, list[tuple[str, tuple[float, float] | None]]]] = {}   # type -> note -> files
    pan_of: dict[str, float] = {}                                                       # file -> its kit's pan
    for dtype, group in _by_type(samples).items():
        for s, stem in zip(group, _file_names(group, taken)):
            f, lift = _place_audio(s, outdir / folder / stem)
            by_note.setdefault(dtype, {}).setdefault(slot_note(s), []).append((f.name, s.velocity, s.gain * lift))
            pan_of[f.name] = s.pan
    # SFZ's volume= stops at +6 dB: a kit whose levels go past it is turned down whole, keeping its balance
    loudest = max((g for notes in by_note.values() for fs in notes.values() for _, _, g in fs), default=1.0)
    scale = min(1.0, SFZ_MAX_GAIN / loudest) if loudest > 0 else 1.0
    own_first = sorted(gm_slots(list(by_note)), key=lambda slot: slot[0] not in by_note.get(slot[1], {}))
    for note, dtype, label in own_first:      # each drum on its own key first (a file reads back as its first key's)
        files = _slot_files(by_note.get(dtype, {}), note, dtype)
        if not files:
            continue
        tag = dtype if note == GM_NOTE_OF_TYPE[dtype] else _slug(label)
        head = f"<group> group_label={tag.replace(' ', '_').replace('-', '_')} key={note}"
        if dtype == "hihat":
            head += " group=1"
        elif dtype == "open hat":
            head += " group=2 off_by=1"
        layers: dict = {}                 # a kit's velocity layers keep a group each, round robin inside
        level = {f: g * scale for f, _, g in files}
        for f, v, _ in files:
            layers.setdefault(v, []).append(f)
        anywhere = layers.pop(None, [])   # files of no layer play at every velocity: in each layer's round robin
        runs = [((), (0, 127))] if not layers else _sfz_velocities(list(layers))
        # a layer no velocity went to (one no velocity falls in, as Hydrogen's min > max) joins the
        # round robin of the runs inside its range, else of the nearest: no sample of the kit goes unplayed
        extra: dict[int, list[str]] = {}
        for v in set(layers) - {r for rs, _ in runs for r in rs}:
            inside_v = [i for i, (_, (lo, hi)) in enumerate(runs) if layer_gap(v, (lo + hi) / 254) == 0]
            for i in inside_v or [min(range(len(runs)), key=lambda i: layer_gap(v, sum(runs[i][1]) / 254))]:
                extra.setdefault(i, []).extend(layers[v])
        for ri, (held, (lo, hi)) in enumerate(runs):
            fs = [f for v in held for f in layers[v]] + extra.get(ri, []) + anywhere
            vel = "" if not layers else f" lovel={lo} hivel={hi}"
            robin = len(fs) <= SFZ_MAX_ROUND_ROBIN
            lines.append(head + vel + (f" seq_length={len(fs)}" if robin and len(fs) > 1 else ""))
            for i, f in enumerate(fs):
                if len(fs) == 1:
                    pick = ""
                elif robin:
                    pick = f" seq_position={i + 1}"
                else:
                    pick = f" lorand={i / len(fs):.6f} hirand={(i + 1) / len(fs):.6f}"
                g = level[f]
                vol = "" if abs(g - 1) < 1e-6 else f" volume={max(20 * math.log10(g), -144) if g > 0 else -144:.3f}"
                pan = f" pan={100 * pan_of[f]:.6g}" if pan_of[f] else ""
                lines.append(f"<region> sample={f}{pick}{vol}{pan}")
        lines.append("")
    sfz = outdir / f"{folder}.sfz"
    audio.atomic_write(sfz, lambda tmp: Path(tmp).write_text("\n".join(lines), encoding="utf-8"))
    return sfz


EXPORT_MANIFEST = ".drummy-export.json"   # what an export wrote, so the next one into the folder replaces it


def export_kit(samples: list[KitSample], outdir: str | Path, fmt: str = "folder", name: str | None = None
               ) -> tuple[Path, list[tuple[str, str]]]:
    """Write samples as a kit in `fmt` (folder, hydrogen or sfz). Returns the main file
    or folder, and the (file, reason) of samples left out because they are no drum hit
    by the rules `ingest` applies (broken, empty, silent, too short or too long: a kit
    player could not open them, or would play nothing).

    OUTDIR must be new, empty, or an earlier export's (whose files are then replaced,
    so no old hit lingers in the new kit); anything else in it is an error, never
    overwritten or deleted. The kit is written beside OUTDIR and swapped in whole, so
    a failed or interrupted export leaves the earlier one as it was."""
    import tempfile
    outdir = Path(outdir)                                    # as given: it names the kit in messages
    named = Path(os.path.abspath(outdir))                    # its name: "-o ../MyKit" is MyKit, a link's own name
    where = outdir.resolve()                                 # where the swap happens: through "..", through a link
    if where == Path.cwd().resolve() or where in Path.cwd().resolve().parents:   # (to the kit, which is replaced)
        raise KitError(f"-o {outdir} is the folder you are in, or holds it; the kit is swapped in whole, "
                       f"so run the export from outside it")
    if fmt == "hydrogen" and name not in (None, named.name):
        raise KitError(f"Hydrogen finds a kit by its folder's name: export to a folder named {name!r} "
                       f"(-o {named.parent / name}) instead")
    name = name or named.name                                # the kit's name, not the temp folder's it is written in
    writers = {"folder": write_folder, "hydrogen": lambda ss, out: write_hydrogen(ss, out, name),
               "sfz": lambda ss, out: write_sfz(ss, out, name)}
    if fmt not in writers:
        raise KitError(f"unknown kit format {fmt!r}; choose from {', '.join(KIT_FORMATS)}")
    if inside := next((s.path for s in samples if where in Path(s.path).resolve().parents), None):
        raise KitError(f"{outdir} holds the kit's own samples ({inside}); export to a folder outside it")
    _check_previous_export(outdir)
    ok, skipped = [], []
    from .features import loop_reason
    for s in samples:
        try:
            if s.drum_type in TYPES:             # the writers leave other samples out
                y = s.load()
                if s.loose and (why := loop_reason(y)):      # a loose loop: no hit for a kit, as ingest says
                    skipped.append((s.shown, why))
                    continue
            ok.append(s)
        except audio.AudioError as e:
            skipped.append((s.shown, str(e)))
    audio.make_folder(where.parent)
    # the temporary folder beside it is named by a digest of its name: "." + a 250-byte name +
    # a suffix would pass the 255 bytes a file name may have, where the name itself fits
    tag = hashlib.sha1(os.fsencode(where.name)).hexdigest()[:12]
    for stale in where.parent.glob(f".drummy-{tag}-*.old"):     # an earlier export stopped mid-swap
        shutil.rmtree(stale, ignore_errors=True)
    try:
        tmp = Path(tempfile.mkdtemp(dir=where.parent, prefix=f".drummy-{tag}-"))
    except OSError as e:                                 # the folder the user named, not our temp folder's name
        why = audio.NO_MAKING if e.errno == errno.ENOENT and where.parent.is_dir() else e.strerror
        raise OSError(e.errno, why, str(where.parent)) from None
    old = tmp.with_name(tmp.name + ".old")
    try:
        out = writers[fmt](ok, tmp)
        from .library import atomic_write_json, file_hash
        atomic_write_json(tmp / EXPORT_MANIFEST, {"written": {str(f.relative_to(tmp)): file_hash(f, None) for f in _files(tmp)}})
        tmp.chmod(0o777 & ~audio._umask())                  # mkdtemp makes 0700; a kit is an ordinary folder
        if where.exists():
            where.rename(old)
        tmp.rename(where)
    except BaseException as e:
        if old.exists() and not where.exists():         # stopped between the two renames
            old.rename(where)
        shutil.rmtree(tmp, ignore_errors=True)
        if isinstance(e, OSError) and str(tmp) in str(e.filename or ""):    # a full disk while writing the kit
            raise OSError(e.errno, e.strerror, str(outdir)) from None
        raise
    finally:
        if where.exists():                               # the new kit is in place (or the old one back)
            shutil.rmtree(old, ignore_errors=True)
    return outdir / out.relative_to(tmp), skipped


def _files(folder: Path) -> list[Path]:
    """Files under folder, dotfiles (the manifest, .DS_Store) aside."""
    return sorted(f for f in folder.rglob("*") if f.is_file() and not any(p.startswith(".") for p in f.relative_to(folder).parts))




def _check_previous_export(outdir: Path) -> None:
    """outdir is new, empty or an earlier export that nobody has changed (KitError otherwise)."""
    if outdir.exists() and not outdir.is_dir():
        raise KitError(f"{outdir} is a file; give a folder for the kit")
    present = _files(outdir) if outdir.is_dir() else []
    hidden = [f for f in outdir.rglob(".*") if f.name not in (EXPORT_MANIFEST, ".DS_Store")] if outdir.is_dir() else []
    if hidden:                                   # the whole folder is replaced: nothing of the producer's may be in it
        raise KitError(f"{outdir} holds {hidden[0]}, which is no part of a Drummy kit export; give a new or empty folder "
                       "(nothing there was changed)")
    if not present:
        return
    import json
    from .library import file_hash
    try:
        written = json.loads((outdir / EXPORT_MANIFEST).read_text())["written"]
        if not isinstance(written, dict):
            raise TypeError
    except (OSError, ValueError, KeyError, TypeError):
        raise KitError(f"{outdir} is not empty and not a Drummy kit export; give a new or empty folder "
                       "(nothing there was changed)") from None
    for f in present:
        rel = str(f.relative_to(outdir))
        if re.fullmatch(r"drumkit\.xml\..+\.bak", rel):     # Hydrogen's backup of our drumkit.xml, when it upgraded it
            continue
        if written.get(rel) != file_hash(f, None):
            raise KitError(f"{f} was {'changed' if rel in written else 'added'} since {outdir} was exported; "
                           "give a new or empty folder, or move it away (nothing there was changed)")

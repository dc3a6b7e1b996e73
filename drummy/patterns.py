"""Drum patterns: step grids in a small TOML format, the built-in grooves, the
step -> sample-time math (swing, seeded humanise) and General MIDI in and out.

A pattern file, one line per track and one character per step::

    name = "boom bap"
    bpm = 90                 # suggested tempo; the command line's --bpm wins
    steps = 16               # steps per bar: 16 (16ths), 12 (8th triplets) or 32 (32nds)
    swing = 58               # percent, MPC style: 50 straight, 66 triplet feel, 75 at most
    humanise = { timing_ms = 6, velocity = 8 }   # std-devs: milliseconds, velocity units

    [tracks]
    kick  = "x.........x.x... | x.........x....."   # any number of bars
    snare = "....X.......X..."                      # a 1-bar track loops
    hihat = "x.o.x.o.x.o.x.o."
    ride  = { grid = "x.x.x.x.x.x.x.x.", type = "cymbal", gain_db = -6, pan = 0.3 }

Step characters: `.` `-` `_` rest, `x` hit (velocity 100), `X` accent (127),
`o` soft (70), `g` ghost (40), `1`..`9` velocity in ninths (9 = 127). Spaces
and `|` are only for the eye. A grid may also be a list of velocities 0..127
(0 = rest). Per-track settings: `type` (drum type; guessed from the track name
when left out), `gain_db`, `pan` (-1 left .. +1 right), `choke` (tracks in one
choke group cut each other; hats default to "hat", "" for none), `note` (the
General MIDI note written to MIDI files).
"""
from __future__ import annotations

import io
import json
import math
import re
import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from .audio import SR  # onset times are in samples @ 44.1 kHz
from .labels import GM_NOTE_OF_TYPE, TYPES, UNKNOWN, gm_note_of, normalise, type_of, type_of_note

STEPS_PER_BAR = (16, 12, 32)
BEATS_PER_BAR = 4          # patterns are in 4/4
PPQ = 480                  # MIDI ticks per quarter note: 16ths, triplets and 32nds are whole ticks
MIDI_DRUM_CHANNEL = 9      # General MIDI channel 10, counted from 0 as mido does
MAX_MIDI_BARS = 1024       # the longest MIDI file read: 34 minutes at 120 bpm
# Words of a MIDI track's name that say it holds no drums (a song's other parts)
_NOT_DRUM_TRACKS = {"bass", "bassline", "keys", "piano", "epiano", "rhodes", "organ", "synth", "pad", "pads", "lead",
                    "arp", "chords", "chord", "melody", "vocal", "vocals", "vox", "guitar", "strings", "brass", "choir"}
_DRUM_TRACK_WORDS = {"drum", "drums", "perc", "percussion", "kit", "beat", "beats", "groove"}

# Step character -> velocity. Digits are ninths of full velocity.
VELOCITY_OF_CHAR = {"x": 100, "X": 127, "o": 70, "g": 40,
                    **{str(d): round(127 * d / 9) for d in range(1, 10)}}
_CHAR_OF_VELOCITY = {v: c for c, v in reversed(VELOCITY_OF_CHAR.items())}  # 127 -> "X", not "9"
_RESTS = ".-_"
_IGNORED = " \t\n|"

# Track names that mean a specific GM note, beyond the one note per drum type.
_NOTE_OF_NAME = {"ride": 51, "crash": 49, "china": 52, "splash": 55, "rim": 37, "rimshot": 37,
                 "side stick": 37, "sidestick": 37, "cowbell": 56, "tambourine": 54, "shaker": 70,
                 "pedal hat": 44, "floor tom": 41, "low tom": 45, "mid tom": 47, "high tom": 50,
                 "conga": 63, "bongo": 60, "clave": 75, "woodblock": 76}
# A General MIDI file's notes that keep a track of their own (named as above), so a ride
# and a crash, or a floor and a high tom, come back out on their own notes.
_NAME_OF_NOTE = {37: "side stick", 44: "pedal hat", 41: "floor tom", 45: "low tom", 47: "mid tom",
                 50: "high tom", 49: "crash", 51: "ride", 52: "china", 55: "splash", 54: "tambourine",
                 56: "cowbell", 70: "shaker", 63: "conga", 60: "bongo", 75: "clave", 76: "woodblock",
                 40: "snare 2", 53: "ride bell", 57: "crash 2", 59: "ride 2"}
# GM's second drums: a track of that name plays that drum (a kit's rimshot on 40, its second crash);
# `labels.gm_note_of` reads them as the first, since a file "Crash 2.wav" is as often a second take
_SECOND_DRUMS = {"snare 2": 40, "crash 2": 57, "ride 2": 59}
# closed hats cut open hats; a kick cuts the kick before it, as a drum machine's kick voice does (an
# 808's boom was still at -19 dB under the next kick, and the two smeared)
_CHOKE_OF_TYPE = {"hihat": "hat", "open hat": "hat", "kick": "kick"}


_TYPE_OF_OWN_NOTE = {v: k for k, v in GM_NOTE_OF_TYPE.items()}


def note_name(note: int) -> str:
    """A General MIDI drum note as a drummer names it ("ride" for 51), else its type, else its number."""
    return _NAME_OF_NOTE.get(note) or _TYPE_OF_OWN_NOTE.get(note) or f"note {note}"


class PatternError(Exception):
    """A pattern that cannot be read or used; the message is one line for the user."""


@dataclass(frozen=True)
class Track:
    """One row of a pattern: which drum plays on which step, and how loud."""
    name: str
    drum_type: str                 # one of labels.TYPES
    hits: tuple[int, ...]          # velocity per step, 0 = rest; len = bars * steps
    gain_db: float = 0.0           # track level
    pan: float = 0.0               # -1 left .. +1 right (constant-power)
    choke: str = ""                # choke group; "" = none
    note: int = 0                  # General MIDI note for MIDI out
    sample: str = ""               # play only the kit's sounds of its type whose name holds this ("" = any)
    lock: bool = False             # one sound for every hit (drawn by the seed), as a drum machine's pad


@dataclass(frozen=True)
class Pattern:
    """A groove: tracks on a grid of `steps` per 4/4 bar, plus feel settings."""
    name: str
    tracks: tuple[Track, ...]
    steps: int = 16                # steps per bar: 16, 12 or 32
    swing: float = 50.0            # percent: 50 straight .. 75
    bpm: float = 120.0             # suggested tempo
    humanise_ms: float = 0.0       # std-dev of onset jitter, milliseconds
    humanise_velocity: float = 0.0  # std-dev of velocity jitter, velocity units (of 127)
    remarks: tuple[str, ...] = field(default=(), compare=False)   # what reading a file left out or assumed

    @property
    def bars(self) -> int:
        """Length in bars: the longest track (shorter ones loop)."""
        return max((len(t.hits) // self.steps for t in self.tracks), default=1)


# --- the text format ------------------------------------------------------------------

def _at(i: int, steps: int) -> str:
    """Step i (from 0) of a grid, as a producer counts it: "bar 2, step 5"."""
    return f"bar {i // steps + 1}, step {i % steps + 1}"


def parse_grid(grid: str | list, steps: int, where: str = "grid") -> tuple[int, ...]:
    """Step characters or a list of velocities -> velocities (0 = rest), whole bars. An error
    says where in the grid it is (bar and step): a 4-bar line is 64 characters."""
    if isinstance(grid, str):
        out = []
        for ch in grid:
            if ch in _IGNORED:
                continue
            if ch in _RESTS:
                out.append(0)
            elif ch in VELOCITY_OF_CHAR:
                out.append(VELOCITY_OF_CHAR[ch])
            else:
                raise PatternError(f"{where}: unknown step character {ch!r} at {_at(len(out), steps)} "
                                   "(use . x X o g 1-9)")
    elif isinstance(grid, list) and all(isinstance(v, int) and not isinstance(v, bool) for v in grid):
        out = list(grid)
        bad = [i for i, v in enumerate(out) if not 0 <= v <= 127]
        if bad:
            raise PatternError(f"{where}: velocity {out[bad[0]]} at {_at(bad[0], steps)}: velocities must be 0..127")
    else:
        raise PatternError(f"{where}: a grid is a string of steps or a list of velocities")
    if not out:
        raise PatternError(f"{where}: the grid is empty (a bar of rests is {'.' * steps})")
    if isinstance(grid, str) and "|" in grid:     # bars (or beats) marked: a part a step long or short shifts the rest
        parts = [len([c for c in part if c not in _IGNORED]) for part in grid.split("|")]
        parts = [n for n in parts if n]
        if not (all(n % steps == 0 for n in parts) or len(set(parts)) == 1 and steps % parts[0] == 0):
            common = max(parts, key=lambda n: (parts.count(n), n % steps == 0))   # bars, or beats: the odd part out
            k = next((i for i, n in enumerate(parts) if (n % steps if common % steps == 0 else n != common)), 0)
            raise PatternError(f"{where}: the parts between its | marks have {_listed([str(n) for n in parts])} steps; "
                               f"each should be a bar ({steps} steps) or a beat: part {k + 1} is not")
    if len(out) % steps:
        bars, extra = divmod(len(out), steps)
        raise PatternError(f"{where}: {len(out)} steps is not a whole number of {steps}-step bars: "
                           f"{steps - extra} short of {bars + 1} bar{'s' * (bars > 0)}"
                           + (f", or {extra} over {bars} bar{'s' * (bars > 1)}" if bars else ""))
    return tuple(out)


def format_grid(hits: tuple[int, ...], steps: int) -> str | list[int]:
    """Velocities -> step characters with `|` between bars, or the list itself when
    some velocity has no character."""
    if any(v and v not in _CHAR_OF_VELOCITY for v in hits):
        return list(hits)
    chars = "".join(_CHAR_OF_VELOCITY[v] if v else "." for v in hits)
    return " | ".join(chars[i:i + steps] for i in range(0, len(chars), steps))


def default_note(name: str, drum_type: str) -> int:
    """The GM note a track writes: by a specific name, read as a beat reads it to pick the
    kit's sound (`labels.gm_note_of`: "ht" 50, "ride bell" 53, "tamb" 54; `--midi-out` put
    "ht", "mt" and "ft" all on the low tom), else by this table (ride, rim ...), else by type."""
    second = _SECOND_DRUMS.get(normalise(name))
    if second is not None and type_of_note(second) == drum_type:
        return second
    return gm_note_of(name, drum_type) or _NOTE_OF_NAME.get(normalise(name), GM_NOTE_OF_TYPE[drum_type])


def from_dict(d: dict, default_name: str = "pattern") -> Pattern:
    """Build a Pattern from parsed TOML; raises PatternError with the field at fault."""
    known = {"name", "bpm", "steps", "swing", "humanise", "humanize", "tracks"}
    if unknown := set(d) - known:
        first = sorted(unknown)[0]
        tracks = " (tracks go under a [tracks] line, below the settings)" if type_of(first) is not None else ""
        raise PatternError(f"unknown setting {first!r} (known: {', '.join(sorted(known))}){tracks}")
    steps = d.get("steps", 16)
    if type(steps) is not int or steps not in STEPS_PER_BAR:
        raise PatternError(f"steps must be 16, 12 or 32 per bar, not {steps!r}")
    swing = _number(d.get("swing", 50.0), "swing")
    if not 50 <= swing <= 75:
        raise PatternError("swing is a percentage from 50 (straight) to 75")
    if steps == 12 and swing != 50:     # swing delays every second step: here that is beats 2 and 4
        raise PatternError("swing is for 16 and 32 steps a bar: a 12-step grid is already in triplets "
                           "(its swing would make beats 2 and 4 late)")
    bpm = _number(d.get("bpm", 120.0), "bpm")
    if not 20 <= bpm <= 999:
        raise PatternError("bpm must be between 20 and 999")
    if "humanise" in d and "humanize" in d:
        raise PatternError("humanise and humanize are one setting: give it once")
    if not isinstance(d.get("name", ""), str):
        raise PatternError("name must be text, e.g. name = \"boom bap\"")
    hum = d.get("humanise", d.get("humanize", {}))
    if not isinstance(hum, dict) or set(hum) - {"timing_ms", "velocity"}:
        raise PatternError("humanise takes timing_ms and velocity, e.g. humanise = { timing_ms = 5, velocity = 8 }")
    h_ms, h_vel = _number(hum.get("timing_ms", 0.0), "timing_ms"), _number(hum.get("velocity", 0.0), "velocity")
    if not (0 <= h_ms <= 100 and 0 <= h_vel <= 127):
        raise PatternError("humanise amounts: timing_ms from 0 to 100, velocity from 0 to 127")
    raw = d.get("tracks")
    if not isinstance(raw, dict) or not raw:
        raise PatternError("a pattern needs a [tracks] table, e.g. kick = \"x...x...x...x...\"")
    if misplaced := sorted(set(raw) & (known - {"tracks"})):       # TOML puts a line below [tracks] into it
        raise PatternError(f"{misplaced[0]} is a setting of the pattern, not a track: put it above the [tracks] line")
    tracks = tuple(_track(name, spec, steps) for name, spec in raw.items())
    silent = [t.name for t in tracks if not any(t.hits)]        # kept (a stem, a later edit); all silent: `sequencer`'s error
    remarks = [f"track {name!r} is rests only: it plays nothing" for name in silent] if len(silent) < len(tracks) else []
    p = Pattern(str(d.get("name", default_name)), tracks, steps, swing, bpm, h_ms, h_vel, tuple(remarks))
    for t in tracks:
        if p.bars % (len(t.hits) // steps):
            raise PatternError(f"track {t.name!r}: {len(t.hits) // steps} bars does not loop evenly in {p.bars}")
    return p


def _number(v, what: str) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
        raise PatternError(f"{what} must be a number")
    return float(v)


def _track(name: str, spec, steps: int) -> Track:
    where = f"track {name!r}"
    if not isinstance(spec, dict):
        spec = {"grid": spec}
    known = {"grid", "type", "gain_db", "pan", "choke", "note", "sample", "lock"}
    if unknown := set(spec) - known:
        raise PatternError(f"{where}: unknown setting {sorted(unknown)[0]!r} (known: {', '.join(sorted(known))})")
    if "grid" not in spec:
        raise PatternError(f"{where}: needs a grid")
    drum_type = spec.get("type") or type_of(name)
    if isinstance(drum_type, str) and drum_type not in TYPES:
        drum_type = type_of(drum_type) or drum_type                 # type = "Snare", "hh": as a track's name is read
    if drum_type not in TYPES:
        hint = f"type {drum_type!r} is not a drum type" if drum_type else "cannot tell its drum type from the name"
        raise PatternError(f"{where}: {hint}; set type = one of {', '.join(TYPES)}")
    pan = _number(spec.get("pan", 0.0), f"{where}: pan")
    if not -1 <= pan <= 1:
        raise PatternError(f"{where}: pan must be between -1 (left) and 1 (right)")
    note = spec.get("note", default_note(name, drum_type))
    if type(note) is not int or not 0 <= note <= 127:              # not `true`, which Python counts as 1
        raise PatternError(f"{where}: note must be a MIDI note 0..127")
    choke = spec.get("choke", _CHOKE_OF_TYPE.get(drum_type, ""))
    if not isinstance(choke, str):
        raise PatternError(f"{where}: choke is a group name (a string)")
    gain_db = _number(spec.get("gain_db", 0.0), f"{where}: gain_db")
    if not -60 <= gain_db <= 24:
        raise PatternError(f"{where}: gain_db must be between -60 and 24 dB")
    sample = spec.get("sample", "")
    if not isinstance(sample, str):
        raise PatternError(f"{where}: sample is (part of) a sound's name, e.g. sample = \"kick_s0_03\"")
    lock = spec.get("lock", False)
    if not isinstance(lock, bool):
        raise PatternError(f"{where}: lock is true (one sound for every hit) or false")
    return Track(name, drum_type, parse_grid(spec["grid"], steps, where), gain_db, pan, choke, note,
                 sample.strip(), lock)


def locked(p: Pattern, which: str) -> Pattern:
    """The pattern with `lock` on the tracks `which` names (`--lock kick,snare`), comma-separated: a track's
    name locks that track; a drum type (`hats`, `kick`) that no track is named, every track of it; "all"."""
    asked = [w.strip() for w in which.split(",") if w.strip()]
    if not asked:
        raise PatternError("--lock needs track names or drum types (e.g. --lock kick,snare), or all")
    names = {t.name.casefold() for t in p.tracks}
    lock: set[int] = set()
    for w in asked:
        key = w.casefold()
        # a drum of its own (crash, ride, floor tom) is no type: --lock crash on a pattern with a ride is a slip
        by_type = type_of(w) if key not in _NOTE_OF_NAME else None
        hit = {i for i, t in enumerate(p.tracks) if key == "all" or t.name.casefold() == key
               or key not in names and by_type is not None and t.drum_type == by_type}
        if not hit:
            raise PatternError(f"--lock {w!r}: pattern {p.name!r} has no such track (its tracks: "
                               f"{', '.join(t.name for t in p.tracks)})")
        lock |= hit
    return replace(p, tracks=tuple(replace(t, lock=True) if i in lock else t for i, t in enumerate(p.tracks)))


def parse(text: str, default_name: str = "pattern") -> Pattern:
    """Parse pattern TOML text."""
    try:
        d = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise PatternError(f"not valid TOML ({e})") from None
    return from_dict(d, default_name)


def dump(p: Pattern) -> str:
    """Pattern -> TOML text that :func:`parse` reads back to an equal Pattern."""
    lines = [f"name = {_toml_str(p.name)}", f"bpm = {_toml_num(p.bpm)}", f"steps = {p.steps}",
             f"swing = {_toml_num(p.swing)}"]
    if p.humanise_ms or p.humanise_velocity:
        lines.append(f"humanise = {{ timing_ms = {_toml_num(p.humanise_ms)}, "
                     f"velocity = {_toml_num(p.humanise_velocity)} }}")
    lines += ["", "[tracks]"]
    for t in p.tracks:
        grid = format_grid(t.hits, p.steps)
        grid_toml = _toml_str(grid) if isinstance(grid, str) else "[" + ", ".join(map(str, grid)) + "]"
        extra = []
        if type_of(t.name) != t.drum_type:
            extra.append(f"type = {_toml_str(t.drum_type)}")
        if t.gain_db:
            extra.append(f"gain_db = {_toml_num(t.gain_db)}")
        if t.pan:
            extra.append(f"pan = {_toml_num(t.pan)}")
        if t.choke != _CHOKE_OF_TYPE.get(t.drum_type, ""):
            extra.append(f"choke = {_toml_str(t.choke)}")
        if t.note != default_note(t.name, t.drum_type):
            extra.append(f"note = {t.note}")
        if t.sample:
            extra.append(f"sample = {_toml_str(t.sample)}")
        if t.lock:
            extra.append("lock = true")
        key = _toml_key(t.name)
        lines.append(f"{key} = {{ grid = {grid_toml}, {', '.join(extra)} }}" if extra else f"{key} = {grid_toml}")
    return "\n".join(lines) + "\n"


def _toml_str(s: str) -> str:
    return json.dumps(s, ensure_ascii=False)  # a JSON string is a TOML basic string


def _toml_key(s: str) -> str:
    return s if s and all(c.isascii() and (c.isalnum() or c in "-_") for c in s) else _toml_str(s)


def _toml_num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else repr(float(x))


# --- built-in grooves ----------------------------------------------------------------

BUILTINS: dict[str, str] = {
    "house": """
name = "house"
bpm = 124
steps = 16
humanise = { timing_ms = 0, velocity = 4 }
[tracks]
kick       = "x...x...x...x..."
clap       = "....x.......x..."
"open hat" = "..x...x...x...x."
hihat      = "...o...o...o...x"
""",
    "techno": """
name = "techno"
bpm = 132
steps = 16
humanise = { timing_ms = 0, velocity = 5 }
[tracks]
kick       = "X...x...x...x..."
hihat      = "xgoxxgoxxgoxxgox"
"open hat" = "..x...x...x...x."
clap       = { grid = "....x.......x...", gain_db = -3 }
perc       = { grid = "...x..x....x.x..", gain_db = -6, pan = 0.4 }
""",
    "boom bap": """
name = "boom bap"
bpm = 90
steps = 16
swing = 58
humanise = { timing_ms = 6, velocity = 8 }
[tracks]
kick  = "X.........x.x... | X.........x....x"
snare = "....X.......X..g"
hihat = "x.o.x.o.x.o.x.o."
"open hat" = { grid = "..............x.", gain_db = -4 }
""",
    "trap": """
name = "trap"
bpm = 140
steps = 32
humanise = { timing_ms = 0, velocity = 6 }
[tracks]
kick  = "X...........x.....x.........x... | X.......x...........x...x......."
snare = "................X...............|................X..............."
hihat = "x...x...x...x.x.x...x...x...xxxx | x...x...x...x...x...x.x.x.x.x..."
"open hat" = { grid = "..........................x.....", gain_db = -5 }
""",
    "breakbeat": """
name = "breakbeat"
bpm = 136
steps = 16
humanise = { timing_ms = 3, velocity = 6 }
[tracks]
kick   = "X.x.......xx.... | ..xx......x....."
snare  = "....X..g.g..X..g | .g..X..g.g....X."
ride   = { grid = "x.x.x.x.x.x.x.x.", type = "cymbal", gain_db = -8, pan = 0.3 }
""",
    "rock": """
name = "rock"
bpm = 120
steps = 16
humanise = { timing_ms = 4, velocity = 6 }
[tracks]
kick   = "x.......x.x....."
snare  = "....X.......X..."
hihat  = { grid = "x.o.x.o.x.o.x.o. | x.o.x.o.x.o.x.o. | x.o.x.o.x.o.x.o. | x.o.x.o.x.......", pan = 0.25 }
"high tom"  = { grid = "................ | ................ | ................ | ........x.x.....", type = "tom", pan = 0.2 }
"mid tom"   = { grid = "................ | ................ | ................ | ...........xX...", type = "tom", pan = -0.1 }
"floor tom" = { grid = "................ | ................ | ................ | ..............x.", type = "tom", pan = -0.3 }
crash  = { grid = "X............... | ................ | ................ | ................", gain_db = -3, pan = -0.2 }
""",
    "shuffle": """
name = "shuffle"
bpm = 100
steps = 12
humanise = { timing_ms = 5, velocity = 8 }
[tracks]
kick  = "X.....x....."
snare = "...X.....X.."
hihat = "x.ox.ox.ox.o"
""",
}


def builtin(name: str) -> Pattern:
    """A built-in groove by name, in any case and spacing ("Boom Bap", "boombap",
    "boom-bap"); PatternError lists them for an unknown name."""
    squash = lambda s: re.sub(r"[\W_]+", "", s.lower())  # noqa: E731
    found = next((b for b in BUILTINS if squash(b) == squash(name)), None)
    if found is None:
        raise PatternError(f"unknown pattern {name!r}; built-ins are {', '.join(BUILTINS)}, "
                           f"or give a .toml or .mid file")
    return parse(BUILTINS[found], found)


def load(source: str | Path) -> Pattern:
    """A built-in name, a pattern .toml file or a General MIDI drum .mid file (.midi, or
    Windows' RIFF .rmi)."""
    path = Path(source)
    suffix = path.suffix.lower()
    if suffix in (".toml", ".mid", ".midi", ".rmi"):
        if not path.is_file():
            raise PatternError(f"no such pattern file: {path}")
        if suffix == ".toml":
            try:
                return parse(path.read_text(encoding="utf-8-sig"), path.stem)   # Notepad's BOM too
            except UnicodeDecodeError:
                raise PatternError(f"{path}: not UTF-8 text; save the pattern as UTF-8") from None
            except PatternError as e:
                raise PatternError(f"{path}: {e}") from None
        return read_midi(path)
    return builtin(str(source))


# --- time ---------------------------------------------------------------------------

def step_samples(bpm: float, steps: int, sr: int = SR) -> float:
    """Length of one grid step in samples (fractional)."""
    return sr * 60.0 / bpm * BEATS_PER_BAR / steps


def grid_positions(n_steps: int, steps: int, bpm: float, swing: float = 50.0, sr: int = SR) -> np.ndarray:
    """Exact onset of steps 0..n_steps-1 in samples (float64). Swing is MPC style:
    the second step of each pair starts at swing % of the pair, i.e. it is late by
    (swing - 50) / 50 of a step (66.7 % = triplet feel, 75 % = dotted)."""
    k = np.arange(n_steps, dtype=np.float64)
    delay = (swing - 50.0) / 50.0 * (k % 2)
    return (k + delay) * step_samples(bpm, steps, sr)


@dataclass
class Hits:
    """The hits of one track in a rendered stretch: where and how hard."""
    onsets: np.ndarray             # (n,) int64 samples @ sr
    velocities: np.ndarray         # (n,) float64, 1..127


def schedule(p: Pattern, bpm: float, bars: int, rng: np.random.Generator | None = None,
             sr: int = SR) -> list[Hits]:
    """Hits of every track over `bars` bars (tracks loop), one Hits per track.

    Onsets are the grid positions (swing included) rounded to the nearest sample;
    with `rng`, humanise adds Gaussian timing (p.humanise_ms) and velocity
    (p.humanise_velocity) jitter, clipped at 2.5 std-devs. A hit moved before the beat's
    start keeps its negative onset: the beat loops, and `sequencer.render` plays it at the
    end of the loop, just before the bar line (the first hit was never early).
    """
    n_steps = bars * p.steps
    pos = grid_positions(n_steps, p.steps, bpm, p.swing, sr)
    out = []
    for t in p.tracks:
        vel = np.resize(np.asarray(t.hits, dtype=np.float64), n_steps)  # loop the track
        idx = np.flatnonzero(vel)
        at, v = pos[idx], vel[idx]
        if rng is not None and p.humanise_ms > 0:
            at = at + np.clip(rng.standard_normal(len(at)), -2.5, 2.5) * p.humanise_ms * sr / 1000
        if rng is not None and p.humanise_velocity > 0:
            v = np.clip(v + np.clip(rng.standard_normal(len(v)), -2.5, 2.5) * p.humanise_velocity, 1, 127)
        out.append(Hits(np.rint(at).astype(np.int64), v))
    return out


# --- MIDI ---------------------------------------------------------------------------

_META_PATTERN = "drummy-pattern "
_META_TRACK = "drummy-track "


def to_midi(p: Pattern, bpm: float | None = None, bars: int | None = None):
    """Pattern -> a type-1 mido.MidiFile: one MIDI track per pattern track, notes on
    channel 10 at the grid positions with swing (not humanise: that is a render-time
    performance, re-applied from the settings), exact velocities, and the pattern's
    settings in text meta events so :func:`from_midi` gives back an equal Pattern."""
    import mido
    bpm = float(p.bpm if bpm is None else bpm)
    bars = p.bars if bars is None else int(bars)
    tps = PPQ * BEATS_PER_BAR // p.steps                            # ticks per step
    k = np.arange(bars * p.steps)
    ticks = k * tps + np.rint((p.swing - 50) / 50 * (k % 2) * tps).astype(int)
    length = max(tps // 2, 1)
    mid = mido.MidiFile(type=1, ticks_per_beat=PPQ, charset="utf-8")      # track names in any script
    for t in p.tracks:
        tr = mido.MidiTrack()
        tr.append(mido.MetaMessage("track_name", name=t.name, time=0))
        tr.append(mido.MetaMessage("text", text=_META_TRACK + json.dumps({
            "type": t.drum_type, "gain_db": t.gain_db, "pan": t.pan, "choke": t.choke,
            "note": t.note, "bars": len(t.hits) // p.steps}), time=0))
        vel = np.resize(np.asarray(t.hits), bars * p.steps)
        events = []  # (absolute tick, order, message); note-offs sort before note-ons
        for i in np.flatnonzero(vel):
            events.append((int(ticks[i]), 1, mido.Message("note_on", channel=MIDI_DRUM_CHANNEL, note=t.note,
                                                           velocity=int(vel[i]))))
            events.append((int(ticks[i]) + length, 0, mido.Message("note_off", channel=MIDI_DRUM_CHANNEL,
                                                                   note=t.note, velocity=0)))
        now = 0
        for tick, _, msg in sorted(events, key=lambda e: (e[0], e[1])):
            tr.append(msg.copy(time=tick - now))
            now = tick
        tr.append(mido.MetaMessage("end_of_track", time=max(bars * p.steps * tps - now, 0)))
        mid.tracks.append(tr)
    head = mido.MidiTrack()
    head.append(mido.MetaMessage("track_name", name=p.name, time=0))
    head.append(mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(bpm), time=0))
    head.append(mido.MetaMessage("time_signature", numerator=4, denominator=4, time=0))
    head.append(mido.MetaMessage("text", text=_META_PATTERN + json.dumps({
        "name": p.name, "steps": p.steps, "swing": p.swing, "bpm": bpm, "bars": p.bars,
        "humanise": {"timing_ms": p.humanise_ms, "velocity": p.humanise_velocity},
        "notes": _notes_print(mid)}), time=0))
    head.append(mido.MetaMessage("end_of_track", time=bars * p.steps * tps))
    mid.tracks.insert(0, head)
    return mid


def _notes_print(mid) -> str:
    """A fingerprint of a MIDI file's notes (when, which, how hard). Drummy stores it in
    the files it writes: one a DAW has edited since no longer matches, and is not written over."""
    import hashlib
    notes = []
    for tr in mid.tracks:
        tick = 0
        for m in tr:
            tick += m.time
            if m.type == "note_on" and m.velocity > 0:
                notes.append((tick, m.channel, m.note, m.velocity))
    return hashlib.sha1(json.dumps([mid.ticks_per_beat] + sorted(notes)).encode()).hexdigest()[:16]


def midi_bytes(p: Pattern, bpm: float | None = None, bars: int | None = None) -> bytes:
    """:func:`to_midi` as the bytes of a .mid file."""
    buf = io.BytesIO()
    to_midi(p, bpm, bars).save(file=buf)
    return buf.getvalue()


def from_midi(mid, name: str = "midi") -> Pattern:
    """A mido.MidiFile -> Pattern.

    Files written by :func:`to_midi` come back exactly (their settings travel in
    text meta events). Other files are read as General MIDI drums: notes on
    channel 10 (any channel when channel 10 is empty) become one track per drum
    type (kick 35/36, snare 38, clap 39, hat 42, open hat 46, other toms, cymbals
    and percussion), but for the notes a drummer keeps apart (crash 49, ride 51,
    pedal hat 44, floor/low/mid/high tom, side stick, cowbell, the second snare 40 (a
    kit's rimshot), crash 2, ride 2, ride bell ...: `_NAME_OF_NOTE`),
    which get a track each of that name and write their own note back; hits snap to the nearest step of the first grid of
    16, 12 or 32 steps per bar that fits them, 16 when none does.
    """
    ppq = mid.ticks_per_beat
    if ppq == 0:      # (it was called SMPTE-timed)
        raise PatternError("the MIDI file's header gives 0 ticks a beat, which times nothing: a broken file?")
    if ppq < 0:       # mido reads an SMPTE division (frames per second x ticks per frame) as negative
        raise PatternError("the MIDI file is timed in SMPTE frames, not in beats; export it with beat-based "
                           "(PPQ) timing")
    meta: dict = {}
    tempo_events: list[tuple[int, int]] = []     # (tick, microseconds a beat), in file order
    zero_tempos = 0
    signatures: set[str] = set()
    notes: list[tuple[int, int, int, int, int]] = []  # (tick, channel, note, velocity, midi track)
    last_off: dict[int, int] = {}   # each MIDI track's last note-off
    # drummy's track settings, each with the track name before it: (MIDI track, name, settings).
    # A type-0 file (all tracks merged into one) holds several in one MIDI track.
    track_meta: list[tuple[int, str, dict]] = []
    end = 0
    drum_eot: dict[int, int] = {}   # each MIDI track's end
    names: dict[int, str] = {}      # each MIDI track's name
    for ti, tr in enumerate(mid.tracks):
        tick, track_name = 0, f"track {ti}"
        for msg in tr:
            tick += msg.time
            end = max(end, tick)
            if msg.type == "set_tempo":
                if msg.tempo > 0:                                   # 0 microseconds a beat: a damaged event
                    tempo_events.append((tick, msg.tempo))
                else:
                    zero_tempos += 1
            elif msg.type == "time_signature":
                if msg.numerator != msg.denominator:                # 2/2 and 8/8 bars are 4/4's length
                    signatures.add(f"{msg.numerator}/{msg.denominator}")
            elif msg.type == "text" and msg.text.startswith(_META_PATTERN):
                meta = _json_or_empty(msg.text[len(_META_PATTERN):])
            elif msg.type == "text" and msg.text.startswith(_META_TRACK):
                track_meta.append((ti, track_name, _json_or_empty(msg.text[len(_META_TRACK):])))
            elif msg.type == "track_name":
                track_name = msg.name
            elif msg.type == "end_of_track":
                drum_eot[ti] = tick
            elif msg.type == "note_on" and msg.velocity > 0:
                notes.append((tick, msg.channel, msg.note, msg.velocity, ti))
            elif msg.type in ("note_off", "note_on"):
                last_off[ti] = tick
        names[ti] = track_name
    drums = [n for n in notes if n[1] == MIDI_DRUM_CHANNEL] or notes
    remarks = []
    channels = sorted({n[1] + 1 for n in notes})
    if len(drums) < len(notes):
        left = len(notes) - len(drums)
        remarks.append(f"{_n(left, 'note')} on channel{'s' * (len(channels) > 2)} "
                       f"{_listed([c for c in channels if c != MIDI_DRUM_CHANNEL + 1])} left out: only channel 10 is drums")
    elif not any(n[1] == MIDI_DRUM_CHANNEL for n in notes):
        # no channel 10 (a DAW's export puts every track on channel 1): a track named for an
        # instrument that is no drum kit ("Bass", "Keys") is no drums, where another track is left
        def melodic_name(name: str) -> bool:           # "Bass Drum", "Synth Drums", "Perc Pad" are drums
            words = set(normalise(name).split())
            return bool(words & _NOT_DRUM_TRACKS) and not words & _DRUM_TRACK_WORDS and type_of(name) is None
        with_notes = {n[4] for n in notes}
        melodic = {ti for ti in with_notes if melodic_name(names.get(ti, ""))}
        if melodic and not with_notes - melodic:
            raise PatternError(f"no drums in the MIDI file: nothing on channel 10 (General MIDI drums), and "
                               f"track{'s' * (len(melodic) > 1)} {_listed([repr(names[ti]) for ti in sorted(melodic)])} "
                               f"{'are' if len(melodic) > 1 else 'is'} named for another instrument")
        if melodic:                                     # and other tracks are left
            drums = [n for n in notes if n[4] not in melodic]
            remarks.append(f"no notes on channel 10 (General MIDI drums): left out track{'s' * (len(melodic) > 1)} "
                           f"{_listed([repr(names[ti]) for ti in sorted(melodic)])}, whose "
                           f"{'names say they hold' if len(melodic) > 1 else 'name says it holds'} no drums")
        used = sorted({n[1] + 1 for n in drums})
        if len(used) > 1:
            remarks.append(f"no notes on channel 10 (General MIDI drums): read channels {_listed(used)} as drums")
    # the tempo a player starts at: the last set at tick 0 (a conductor track's first), else MIDI's 120 bpm
    at_start = [t for tick, t in sorted(tempo_events, key=lambda e: e[0]) if tick == 0]
    tempo = (at_start[-1] if at_start else 500_000) if tempo_events else None
    if zero_tempos:
        remarks.append(f"{_n(zero_tempos, 'tempo event')} of 0 microseconds a beat (damaged) left out")
    if tempo is not None and any(t != tempo for _, t in tempo_events):
        tempos = {tempo} | {t for _, t in tempo_events}
        remarks.append(f"the file changes tempo ({len(tempos)} tempos): the beat keeps the one it starts at "
                       f"({round(60_000_000 / tempo, 2):g} bpm)")
    if signatures:                                                  # only bars of another length are kept
        remarks.append(f"read in 4/4; the file says {_listed(sorted(signatures))}")
    if meta:
        steps = int(meta.get("steps", 16))
        swing = float(meta.get("swing", 50.0))
    else:
        steps, swing = _guess_grid([n[0] for n in drums], ppq)
        if swing > 50:
            remarks.append(f"played with swing: its off-beat steps ({steps} a bar) come {round(2 * swing - 100)} % of "
                           f"a step late, read as swing {swing:g}")
    if steps not in STEPS_PER_BAR or not 50 <= swing <= 75:
        raise PatternError("MIDI file has unusable drummy settings (steps/swing)")
    tps = ppq * BEATS_PER_BAR / steps
    bar_ticks = tps * steps
    # Our own files end exactly at the last bar line. Other files: the last note, or the
    # end of the track when that is a step or more past the bar line after it (a loop
    # that ends in empty bars keeps them; a note-off just past the line adds none).
    last = max([n[0] for n in drums], default=0)
    # the ends of the drum tracks and of tracks with no notes (a conductor track): a bass line's is not theirs
    others = {n[4] for n in notes} - {n[4] for n in drums}
    # a track whose end is only the last note's release (a quarter-note hit on the last step; a
    # conductor track or a drum's track ending with the song, as DAWs align them) adds no bar,
    # unless that release lies on a bar line (a crash held to the end of the clip)
    release = max([last_off.get(ti, -1) for ti in {n[4] for n in drums}], default=-1)
    eot = max([t for ti, t in drum_eot.items() if ti not in others
               and (t > max(last_off.get(ti, -1), release) or t % (ppq * BEATS_PER_BAR) == 0)], default=0)
    # a track end a step or more past a bar line adds that bar (a tick short of it, as DAWs
    # round a step of a coarse PPQ, counts; at PPQ 1-3, where a step is under a tick, half a step)
    slack = min(1.0, tps / 2)
    bars = max(int(last // bar_ticks) + 1, math.ceil(end / bar_ticks) if meta else math.ceil((eot - tps + slack) / bar_ticks))
    if bars > MAX_MIDI_BARS:                    # a damaged delta time reads as hours of silence
        raise PatternError(f"the MIDI file is {bars:,} bars long (a damaged file?); Drummy reads up to "
                           f"{MAX_MIDI_BARS}")
    first = min([n[0] for n in drums], default=0)
    if not meta and first >= bar_ticks:
        empty = int(first // bar_ticks)
        remarks.append(f"the first hit is in bar {empty + 1}: the {_n(empty, 'empty bar')} before it "
                       f"{'are' if empty > 1 else 'is'} part of the loop (trim the clip to leave {'them' if empty > 1 else 'it'} out)")
    # a track named for a drum, all its notes on one key past the kit's own (FL Studio exports each
    # channel of its rack on C5, GM's high bongo) or off the map, that is not the key its name gives
    # it: read by its name, on that key ("Ride" on 51, "Tom Hi" on 50, "Shaker" on 70). A GM drum
    # track's keys are its own ("Hat" on 46 is an open hat, "Snare" on 37 a side stick).
    by_name: dict[int, tuple[str, int]] = {}
    for ti in sorted({n[4] for n in drums}) if not meta else []:
        keys = {n[2] for n in drums if n[4] == ti}
        named = type_of(names.get(ti, ""))
        if len(keys) != 1 or named in (None, UNKNOWN) or (key := min(keys)) < 60 and type_of_note(key) != UNKNOWN:
            continue
        own = gm_note_of(names[ti], named)                          # None: a plain one of its type
        if type_of_note(key) != named or own is not None and own != key:
            by_name[ti] = (named, own or GM_NOTE_OF_TYPE[named])
    if by_name:
        remarks.append(f"read by {'their names' if len(by_name) > 1 else 'its name'}, not by the key "
                       f"{'each plays' if len(by_name) > 1 else 'it plays'}: track"
                       f"{'s' * (len(by_name) > 1)} {_listed([repr(names[ti]) for ti in by_name])}")
    k = np.arange(bars * steps + 1)                                 # + the next loop's first step
    grid = k * tps + np.rint((swing - 50) / 50 * (k % 2) * tps)     # the ticks to_midi writes
    at = np.array([n[0] for n in drums], dtype=np.float64)
    nearest = np.clip(np.searchsorted(grid, at), 1, len(grid) - 1)
    nearest -= (at - grid[nearest - 1]) <= (grid[nearest] - at)    # ties go to the earlier step
    # a played take, quantised: said (of the notes it plays: those on other keys are said to be left out)
    off = np.abs(at - grid[nearest]) * np.array([type_of_note(n[2]) != UNKNOWN or n[4] in by_name for n in drums], bool)
    moved = off > max(ppq / 96, 1)                                  # a 384th note: 5 ticks at 480 PPQ, 5 ms at 120 bpm
    if not meta and swing == 50 and steps == 16 and not (np.rint(at / tps) % 2).any() \
            and (eighths := _swing_of(at.tolist(), 2 * tps)) > 50:  # swung 8ths: none on an odd 16th
        remarks.append(f"played with 8th-note swing (about {eighths:g} %): Drummy swings 16ths, so its off-beat "
                       f"8ths are played straight")
    if not meta and moved.any():
        remarks.append(f"{_n(int(moved.sum()), 'note')} off the {steps}-step grid (by up to "
                       f"{int(off.max())} ticks) moved onto it")
    nearest %= bars * steps                                         # a late last hit loops to step 0
    # the drums stop before the song does (by where the hits landed: one played just before a bar line is in it)
    if not meta and drums and (empty := bars - 1 - int(nearest.max() // steps)) > 0:
        remarks.append(f"the last hit is in bar {bars - empty} of {bars}: the {_n(empty, 'empty bar')} after it "
                       f"{'are' if empty > 1 else 'is'} part of the loop (trim the clip to leave {'them' if empty > 1 else 'it'} out)")

    # hits go to tracks: by MIDI track when it carries drummy settings, else by drum type
    rows: dict[str, dict] = {}
    by_track: dict[int, list[tuple[str, dict]]] = {}
    for ti, name, tmeta in track_meta:                              # in file order, even if silent
        rows[name] = {"type": tmeta.get("type"), "meta": tmeta, "notes": {}, "hits": np.zeros(bars * steps, int)}
        by_track.setdefault(ti, []).append((name, tmeta))
    skipped: dict[int, int] = {}
    merged = 0
    for (tick, _, note, vel, ti), step in zip(drums, nearest):
        ours = by_track.get(ti, [])
        if len(ours) > 1:       # merged tracks: each note goes to the track that plays it
            ours = [o for o in ours if o[1].get("note") == note][:1]
        if ours:
            key, dtype = ours[0][0], None                           # its row is there already
        else:
            if ti in by_name:                                       # on the note its name gives from here on
                note = by_name[ti][1]
            dtype = type_of_note(note)
            if dtype == UNKNOWN:
                skipped[note] = skipped.get(note, 0) + 1              # not a General MIDI drum note
                continue
            key = _NAME_OF_NOTE.get(note, dtype)
        row = rows.setdefault(key, {"type": dtype, "meta": {}, "notes": {}, "hits": np.zeros(bars * steps, int)})
        merged += bool(row["hits"][step])
        row["hits"][step] = max(row["hits"][step], vel)
        row["notes"][note] = row["notes"].get(note, 0) + 1
    if not track_meta:  # in the usual order of types, a type's own track first, then by note
        rows = dict(sorted(rows.items(), key=lambda kv: (TYPES.index(kv[1]["type"]), kv[0] != kv[1]["type"],
                                                          min(kv[1]["notes"]))))
    if not rows:
        raise PatternError("no General MIDI drum notes in the MIDI file")
    if skipped:
        remarks.append(f"{_n(sum(skipped.values()), 'note')} on keys outside the General MIDI drum map "
                       f"({_listed(sorted(skipped))}) left out")
    if merged and not meta:
        remarks.append(f"{_n(merged, 'note')} fell on a step {'its' if merged == 1 else 'their'} track already plays "
                       f"({steps} steps a bar) and merged")

    tracks = []
    for key, row in rows.items():
        dtype, tmeta, hits = row["type"], row["meta"], row["hits"]
        if dtype not in TYPES:
            raise PatternError(f"MIDI track {key!r}: unknown drum type {dtype!r}")
        own = int(tmeta.get("bars", bars))
        if own and bars % own == 0 and np.array_equal(np.resize(hits[:own * steps], len(hits)), hits):
            hits = hits[:own * steps]  # a looping track written over a longer stretch
        note = tmeta.get("note") or max(row["notes"], key=row["notes"].get, default=GM_NOTE_OF_TYPE[dtype])
        choke = tmeta.get("choke", _CHOKE_OF_TYPE.get(dtype, ""))
        tracks.append(Track(key, dtype, tuple(int(v) for v in hits), float(tmeta.get("gain_db", 0.0)),
                            float(tmeta.get("pan", 0.0)), str(choke), int(note)))
    hum = meta.get("humanise", {})
    # the tempo the file plays at; our own exact figure when it agrees (a DAW that changed
    # the tempo leaves our text behind, and it is the file's tempo that plays)
    try:
        ours = float(meta.get("bpm", "nan"))
    except (TypeError, ValueError):                                 # an edited settings text
        ours = math.nan
    bpm = round(60_000_000 / tempo, 3) if tempo else (ours if math.isfinite(ours) else 120.0)
    if tempo and abs(ours - bpm) < 0.01:
        bpm = ours
    return Pattern(str(meta.get("name", name)), tuple(tracks), steps, swing, bpm,
                   float(hum.get("timing_ms", 0.0)), float(hum.get("velocity", 0.0)), tuple(remarks))


def _n(k: int, word: str) -> str:
    return f"{k} {word}{'s' * (k != 1)}"


def _listed(xs) -> str:
    xs = [str(x) for x in xs]
    return ", ".join(xs[:8]) + (f" and {len(xs) - 8} more" if len(xs) > 8 else "")


def _json_or_empty(text: str) -> dict:
    try:
        d = json.loads(text)
    except ValueError:
        return {}
    return d if isinstance(d, dict) else {}


def _swing_of(ticks: list[int], tps: float) -> float:
    """The swing (50..75) a file's notes are played with on a grid of `tps` ticks a step:
    50 + 50 x how much later than its on-beat steps its off-beat steps come, in steps,
    when they are late alike (their middle half within a fifth of a step), its on-beat
    steps are together and few notes sit between the two (a triplet fill is no swing);
    else 50. A DAW's swung 16ths, 19-60 ticks late at 480 PPQ, were snapped straight; a
    take recorded a few ticks late (latency, a nudged clip) counts from its on-beats."""
    phase = (np.asarray(ticks, np.float64) / tps) % 2                # 0: an on-beat step, 1: the off-beat after it
    on = phase[(phase < 0.4) | (phase > 1.75)]
    on = np.where(on > 1, on - 2, on)                                # signed: early on-beats are negative
    late = phase[(phase >= 0.75) & (phase <= 1.6)] - 1
    between = int(((phase >= 0.4) & (phase < 0.75)).sum())
    if len(late) < max(2, len(phase) / 10) or len(on) < 2 or between > len(late) / 4:    # (a stray late note is none)
        return 50.0
    lead = float(np.median(on))                                      # the take's own offset from the grid
    q1, delay, q3 = np.percentile(late, [25, 50, 75]) - lead
    if abs(lead) > 0.1 or np.median(np.abs(on - lead)) > 0.1 or q3 - q1 > 0.2:    # loose: humanised, not swung
        return 50.0
    noise = (q3 - q1) / 1.35 / np.sqrt(len(late))                    # the median's error, from the take's own spread
    if delay < max(0.06 if len(late) >= 4 else 0.1, 2.5 * noise):   # near straight (two or three off-beats: clearly not)
        return 50.0
    return float(min(75.0, round(2 * (50 + 50 * delay)) / 2))       # to half a percent


def _guess_grid(ticks: list[int], ppq: int) -> tuple[int, float]:
    """The grid (16, 12 or 32 steps a bar) and its swing (`_swing_of`, on 16 steps) that
    the most ticks are within a quarter of a 32nd note of, the coarser on a tie (16, then
    12, then 32): a 32nd-note roll in a 16th-note groove keeps its notes on 32, and 16ths
    swung 75 % are 16ths swung, not straight 32nds."""
    if not ticks:
        return 16, 50.0
    at = np.asarray(ticks, dtype=np.float64)
    fits = []
    for steps in STEPS_PER_BAR:
        tps = ppq * BEATS_PER_BAR / steps
        # swing on 16ths only: 12 steps are triplets already, and 32nds swung 75 % are loose 16ths as often as not
        swing = _swing_of(ticks, tps) if steps == 16 else 50.0
        k = np.floor(at / tps)[:, None] + np.arange(-1, 3)         # the steps around each note (a damaged
        grid = k * tps + (k % 2) * (swing - 50) / 50 * tps          # file's hours-late note: no grid of hours)
        off = np.abs(at[:, None] - grid).min(1)
        fits.append((int((off > ppq / 32).sum()), steps, swing))
    misfits, steps, swing = min(fits, key=lambda f: f[0])           # (min keeps the first of a tie)
    return steps, swing


def is_ours(path: str | Path) -> bool:
    """Whether a MIDI file is one Drummy wrote (it carries the pattern's settings) and its
    notes are as Drummy wrote them (`_notes_print`; a file from before Drummy stored the
    print counts as its own). A DAW keeps the settings' text events when it saves an edit."""
    try:
        mid = _parse_midi(Path(path))
    except (OSError, PatternError):
        return False
    for m in (m for tr in mid.tracks for m in tr):
        if m.type == "text" and m.text.startswith(_META_PATTERN):
            stored = _json_or_empty(m.text[len(_META_PATTERN):]).get("notes")
            return stored is None or stored == _notes_print(mid)
    return False


def _track_chunks(data: bytes) -> bytes:
    """A Standard MIDI File's header and track chunks alone, as mido reads them: the spec
    has readers skip chunks of other kinds (a Yamaha XF "XFIH" before the tracks was
    refused), and a Windows RIFF "RMID" file holds one in its "data" chunk. Anything
    else is returned as it is, for mido to judge."""
    if data[:4] == b"RIFF" and data[8:12] == b"RMID":
        at = 12
        while at + 8 <= len(data):
            size = int.from_bytes(data[at + 4:at + 8], "little")
            if data[at:at + 4] == b"data":
                data = data[at + 8:at + 8 + size]
                break
            at += 8 + size + size % 2                                  # RIFF chunks are padded to even sizes
        else:                                                          # (a writer that did not pad them)
            data = data[data.find(b"MThd"):] if b"MThd" in data else data
    if data[:4] != b"MThd":
        return data
    kept, at = [], 0
    while at + 8 <= len(data):
        size = int.from_bytes(data[at + 4:at + 8], "big")
        if data[at:at + 4] in (b"MThd", b"MTrk") or at + 8 + size > len(data):   # (a cut track: mido says so)
            kept.append(data[at:at + 8 + size])
        at += 8 + size
    return b"".join(kept) + data[at:]


def _parse_midi(path: Path):
    """A mido.MidiFile. Names are read as UTF-8 (what drummy writes), else as Latin-1 (other
    tools). A key signature mido cannot decode (a mode of 2, 8 sharps: DAWs write them) is
    read as C major: drums have no key. Anything else mido cannot parse is a PatternError;
    an OSError is left to the caller."""
    import mido
    from mido.midifiles.meta import KeySignatureError
    data = _track_chunks(path.read_bytes())
    for attempt in range(2):
        try:
            try:
                return mido.MidiFile(file=io.BytesIO(data), charset="utf-8")
            except UnicodeDecodeError:
                return mido.MidiFile(file=io.BytesIO(data))
        except Exception as e:          # mido raises EOFError, ValueError, KeyError, IndexError, KeySignatureError ...
            if attempt == 0 and isinstance(e, KeySignatureError):
                data = re.sub(rb"\xff\x59\x02[\x00-\xff][\x00-\xff]", b"\xff\x59\x02\x00\x00", data)
                continue
            if not data.startswith(b"MThd"):
                raise PatternError("not a MIDI file (a MIDI file starts with MThd)") from None
            if isinstance(e, EOFError):
                raise PatternError("a MIDI file cut short: it ends inside a track (a broken download or copy?)") from None
            raise PatternError(f"not a readable MIDI file ({str(e) or type(e).__name__})") from None


def read_midi(path: str | Path) -> Pattern:
    """Read a .mid file as a Pattern (see :func:`from_midi`)."""
    path = Path(path)
    try:
        mid = _parse_midi(path)
    except OSError as e:
        raise PatternError(f"{path}: not a readable MIDI file ({e.strerror or e})") from None
    except PatternError as e:
        raise PatternError(f"{path}: {e}") from None
    try:
        return from_midi(mid, path.stem)
    except PatternError as e:
        raise PatternError(f"{path}: {e}") from None
    except (ValueError, TypeError, KeyError) as e:  # hand-edited drummy settings
        raise PatternError(f"{path}: unusable drummy settings in the MIDI file ({e})") from None


def write_midi(path: str | Path, p: Pattern, bpm: float | None = None, bars: int | None = None) -> Path:
    """Write a Pattern as a General MIDI drum .mid file (atomically)."""
    from .library import atomic_write_bytes
    path = Path(path)
    atomic_write_bytes(path, midi_bytes(p, bpm, bars))
    return path

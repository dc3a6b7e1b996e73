"""Recipes, timbre controls and generation with the blend generator.

A recipe is a comma-separated list of parts with weights, each part one label
or several joined by `+`:

    "snare=80,hihat=20"   80% snare, 20% hi-hat (percent or fractions; normalised)
    "kick+808+boom bap"   one part: what a sample tagged kick, 808 and boom bap sounds like
    "kick"                a single label

Each part stands for the library samples that carry all its labels: the part's
condition is their mean label vector, and its descriptor prior is their mean and
spread. A recipe mixes its parts' conditions and priors by weight.
"""
from __future__ import annotations

import difflib
import glob
import itertools
import json
import math
import re
from contextlib import contextmanager
from functools import lru_cache
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np
import torch

from . import audio, codec
from .library import ModelError
from .labels import GM_NOTE_OF_TYPE, SYNONYMS, TYPES, gm_note_of, labels_from_names, normalise
from .vae import BlendVAE, control_columns, log_centroid, scale_code, steer_brightness, unscale_code

AUDIO_VERSION = 16   # bump when a change gives a model and seed other audio; --from refuses older sidecars
                     # (6: hits set to -1 dBTP true peak, not -1 dBFS sample peak; 7: a recipe's parts
                     # draw in one order, variations tuned to their reference's note, --pitch transposes the noise,
                     # a 4th-order high-pass at 20 Hz; 8: a snappier --attack is a transient shaper's, a recipe's
                     # hit no more tonal than its source + 6 dB; 9: a slower --attack's ramp after the noise gate;
                     # 10: a recipe's hit too near a training hit is drawn again, `novelty`: its sidecar says "guard";
                     # 11: a hit quieter than real ones is brought to their level before its cuts, `codec.level_up`;
                     # 12: nothing above 20 kHz, `audible`; 13: a variation or morph tuned to the note its reference's
                     # body is heard at, `codec.body_note`, and shaped and rung out as its reference, `codec.likeness`;
                     # 14: a reference's controls held near the training hits', a variation's holes under its
                     # reference's level filled: `Generator.bounded`, `codec.fill_holes`; a recipe's hit of a
                     # model that keeps its training hits' tails rings out as they do, `Generator.fall_of`;
                     # 15: a recipe's hit of a model that keeps pitch sweeps falls from its knock, `Generator.sweep_of`;
                     # 16: a recipe's hit never swells back, `codec.no_swell`, a tail's bands go under the gate
                     # steeply, not at once, `codec.GATE_STEEPER`, and a body sine fades into its floor, SINE_KNEE_DB)
RING_SECONDS = 3.0   # the longest a generated hit may ring out (an 808, a cymbal); the model sees 1 s
LIKE_SECONDS = 10.0  # ... a variation of a longer reference, as long as it up to this (a crash: 3-8 s)
RECIPE_SECONDS = 6.0  # ... a recipe's hit of a model that knows its training hits' tails (`Generator.fall_of`)
MAX_ATTACK_MS = 100.0   # the slowest attack --attack ramps a hit up over: longer is a swell, not a hit
PUNCH_DB = 12.0     # the most --attack -1 raises a hit's onset by (a transient shaper's attack, turned fully up)
PUNCH_MS = 3.0      # ... and how fast that raise dies away (its time constant)
ONSET_FADE_MS = 0.5       # every written hit fades in over this (`finish`): its first sample would click
BALANCE_MARGIN_DB = 6.0   # how much more tonal than the real hit it was conditioned on a generated hit may be
REFERENCE_MARGIN = 1.0   # z units: how far past every training hit's a reference's controls may condition the
                         # decoder (`encode_codes`; held-out kits' references sit at most 0.84 past, 4-5 % of them)
CONTROL_SPAN = 2.0   # a control of +1 moves its descriptor this many recipe spreads (std) up


class RecipeError(ModelError):
    """A recipe or control a user wrote that the model cannot follow."""


@dataclass
class Recipe:
    parts: list[tuple[float, list[str]]]    # (weight summing to 1, labels)
    typed_total: float | None = field(default=None, compare=False)   # the weights as typed add up to (percent)

    @property
    def name(self) -> str:
        """File-name friendly: snare80-hihat20, kick+808, 808_50-909_50."""
        def part(w, labs):
            s = "+".join(lab.replace(" ", "_") for lab in labs)
            sep = "_" if s[-1:].isdigit() else ""          # 808=50: 808_50, not 80850
            return s if len(self.parts) == 1 else f"{s}{sep}{round(w * 100)}"
        return "-".join(part(w, labs) for w, labs in self.parts)

    def text(self) -> str:
        return ",".join("+".join(labs) + f"={round(w * 100, 2):g}" for w, labs in self.parts)


@dataclass
class Controls:
    brightness: float = 0.0   # -1..1, relative to the recipe's typical value
    decay: float = 0.0        # -1..1
    attack: float = 0.0       # -1..1 (+1 = slower attack)
    pitch: float = 0.0        # semitones
    variation: float = 1.0    # 0 = the recipe's typical sound .. 1 = as varied as the library

    def check(self) -> "Controls":
        for name in ("brightness", "decay", "attack"):
            v = getattr(self, name)
            if not -1.0 <= v <= 1.0:
                raise RecipeError(f"--{name} must be between -1 and 1 (got {v:g})")
        if not -24 <= self.pitch <= 24:
            raise RecipeError(f"--pitch must be between -24 and 24 semitones (got {self.pitch:g})")
        if not 0.0 <= self.variation <= 1.0:
            raise RecipeError(f"--variation must be between 0 and 1 (got {self.variation:g})")
        return self


def _resolve(label: str, known: list[str], held: tuple[str, ...] = ()) -> str:
    """A label as the user typed it -> the model's label, or a RecipeError. held: labels
    the model has, but only on hits it held out for validation. A word for one drum of a
    type (`cowbell`, `ride`, `pedal hat`) that the model has no label for is an error, not
    silently the whole type (a cowbell recipe made congas and shakers)."""
    n = normalise(label)
    # "side stick" is the tag sidestick (a kind of perc), before the type perc its synonym names
    exact = [c for c in (n, n.replace(" ", ""), n.replace("-", " ")) if c]
    broader = SYNONYMS.get(n)
    cands = exact + ([broader] if broader and not _narrower(label, broader) else [])
    for cand in cands:
        if cand in known:
            return cand
    spaced = {k.replace(" ", ""): k for k in known}                 # `boombap` for the tag `boom bap`
    if n.replace(" ", "") in spaced and " " not in n:
        return spaced[n.replace(" ", "")]
    if any(cand in held for cand in cands):
        raise RecipeError(f"label {label!r} is only on samples the generator held out to validate itself "
                          "(kits or folders it never trained on), so it has no sound for it")
    shown = ", ".join(known[:60]) + (f" … and {len(known) - 60} more" if len(known) > 60 else "")
    wider = f"; `{broader}` asks for any {broader}" if broader in known else ""
    if not wider and (parts := _words_of(n, known)):                 # `808 kick`: two labels in one part
        wider = f"; for a hit that is all of them, join them with +: {'+'.join(parts)}"
    if not wider and (near := difflib.get_close_matches(n, known, n=1, cutoff=0.75)):   # a slip: `snar`
        wider = f" (did you mean {near[0]!r}?)"
    err = RecipeError(f"unknown label {label!r}{wider}; this model knows: {shown}")
    err.label = label                                   # for the CLI to say why, from the library
    err.broader = broader if broader in known else None
    raise err


def _words_of(n: str, known: list[str], most: int = 6) -> list[str] | None:
    """A normalised label of 2 to `most` words read as as many different known labels in a row
    (`808 kick` -> 808, kick; `boom bap kick` -> boom bap, kick), or None. A word for one drum
    (`cowbell`) is not widened to its type, as `_resolve` does not widen it."""
    words = n.split()
    if not 2 <= len(words) <= most:       # a pasted phrase of 24 words took 9 s to try every split
        return None

    def label(text: str) -> str | None:
        wide = SYNONYMS.get(text)
        return text if text in known else wide if wide in known and not _narrower(text, wide) else None

    def split(i: int) -> list[str] | None:   # words[i:] as known labels, the longest first label first
        for cut in range(len(words), i, -1):
            if (first := label(" ".join(words[i:cut]))) is not None:
                rest = [] if cut == len(words) else split(cut)
                if rest is not None and first not in rest:
                    return [first, *rest]
        return None
    parts = split(0)
    return parts if parts and len(parts) > 1 else None


def _narrower(label: str, drum_type: str) -> bool:
    """Whether a word names one drum of its type, not the type: a kind kept as a tag
    (`cowbell`, `conga`) or a drum with its own General MIDI note (`ride` 51, `pedal hat` 44;
    `crash` is the cymbal's own note, `hh` or `bd` no drum in particular)."""
    t, tags = labels_from_names([label])
    note = gm_note_of(label, drum_type)
    return t == drum_type and (bool(tags) or note not in (None, GM_NOTE_OF_TYPE.get(drum_type)))


def parse_recipe(text: str, known: list[str], held: tuple[str, ...] = ()) -> Recipe:
    """Parse "snare=80,hihat=20" / "kick+808" / "kick" against the model's labels
    (held: see `_resolve`)."""
    parts, weights, marked = [], [], []
    for chunk in (c.strip() for c in text.split(",")):
        if not chunk:
            continue
        name, sep, weight = chunk.partition("=") if "=" in chunk else chunk.partition(":")
        name, weight = name.strip(), weight.strip()
        m = re.fullmatch(r"([0-9]+\.?[0-9]*|\.[0-9]+)\s*%?", weight) if sep else None     # 75, 75%, 0.75, .75, 5.
        if sep and not m:
            raise RecipeError(f"cannot read the weight {weight!r} of {name!r}: give a number of percent "
                              "(75 or 75%) or a fraction (0.75), at least 0")
        spaced = None if sep else re.fullmatch(r"(.*?\S)\s+([0-9]+\.?[0-9]*%?|\.[0-9]+%?)", name)
        drum = spaced and SYNONYMS.get(normalise(spaced.group(1)), normalise(spaced.group(1))) in TYPES
        if drum and normalise(spaced.group(1)) == normalise(name):   # "snare 75" (a label drops the number; a tag
            # such as "Juno 106" is its tag "juno", as its folder's name was)
            raise RecipeError(f"{name!r}: write a part's weight after '=' ({spaced.group(1)}={spaced.group(2)})")
        labels = [_resolve(lab, known, held) for lab in name.split("+") if lab.strip()]
        if not labels:
            raise RecipeError(f"empty recipe part in {text!r}")
        parts.append(labels)
        weights.append(float(m.group(1)) if m else None)
        marked.append(bool(m) and weight.endswith("%"))
    if not parts:
        raise RecipeError("empty recipe; give labels such as 'snare=80,hihat=20' or 'kick'")
    weights_typed = list(weights)
    if all(w is None for w in weights):
        weights = [1.0] * len(parts)
    elif any(w is None for w in weights):
        raise RecipeError(f"give every part of {text!r} a weight, or none")
    fractions = [w for w, pct in zip(weights, marked) if 0 < w < 1 and not pct]     # 0.5% is a percent
    if fractions and (any(w > 1 for w in weights) or any(marked)):   # "kick=0.8,snare=20" meant 80/20, would be 4/96
        pct = next(f"{w:g}" + "%" * m for w, m in zip(weights, marked) if m or w > 1)
        raise RecipeError(f"{text!r} mixes fractions ({fractions[0]:g}) and percents ({pct}); "
                          "give every weight in one of them")
    total = math.fsum(weights)                         # fsum: the same sum in any order typed
    if total <= 0:
        raise RecipeError(f"the weights in {text!r} add up to zero")
    # One order whatever the order typed, the model's (types first): the parts draw their
    # descriptors in turn, and "hihat=20,snare=80" made other hits than "snare=80,hihat=20"
    rank = {lab: i for i, lab in enumerate(known)}

    def order(lab):
        return rank.get(lab, len(rank)), lab

    merged: dict[tuple[str, ...], list[float]] = {}    # "kick=50,kick=50" is "kick"; a 0 % part is no part
    for w, labs in zip(weights, parts):
        merged.setdefault(tuple(sorted(dict.fromkeys(labs), key=order)), []).append(w)
    given = any(w is not None for w in weights_typed)
    percent = any(w > 1 for w in weights) or any(marked)
    return Recipe([(math.fsum(merged[k]) / total, list(k)) for k in sorted(merged, key=lambda k: [order(lab) for lab in k])
                   if math.fsum(merged[k]) > 0], typed_total=(total if percent else 100 * total) if given else None)


def infrasound_out(y: np.ndarray, sr: int) -> np.ndarray:
    """(n, samples) hits less what lies under 20 Hz (a 4th-order Butterworth high-pass:
    -0.17 dB at 30 Hz, -32 dB at 8 Hz). A 30 Hz body that decays in a few cycles, or one
    transposed down to it, spreads into a one-sided thump nobody hears: 14 % of a
    `--pitch -24` kick's energy lay under 15 Hz, and the peak normalisation spent
    headroom on it. (A 2nd-order filter, -0.8 dB at 30 Hz, still left 4.6 % of such a
    kick's energy under 20 Hz.)"""
    return _filtered(_highpass(sr), y)


def _filtered(sos: np.ndarray, y: np.ndarray, rows: int = 32) -> np.ndarray:
    """(n, samples) hits through a filter cascade, float32, a few rows at a time: scipy works in float64,
    and a thousand 6 s cymbals at once took 2.1 GB for that copy alone. Each row is filtered as it would
    be alone."""
    from scipy.signal import sosfilt
    out = np.empty(y.shape, np.float32)
    for i in range(0, len(y), rows):
        out[i:i + rows] = sosfilt(sos, y[i:i + rows], axis=-1)
    return out


def _onset_fade(sr: int, n: int) -> np.ndarray:
    """The gain ramp every written hit of n samples starts with (`finish`): ONSET_FADE_MS of sin²,
    or all n where it is shorter: (min(n, ONSET_FADE_MS in samples),)."""
    k = min(n, int(ONSET_FADE_MS / 1000 * sr))
    return np.sin(np.linspace(0, np.pi / 2, k + 2)[1:-1]) ** 2


def punch(y: np.ndarray, target_ms: np.ndarray, max_db: np.ndarray, sr: int = codec.SR,
          step_db: float = 0.5) -> np.ndarray:
    """A transient shaper for hits that start on their onset, (n, samples): each hit's first
    milliseconds raised by a gain that dies away over PUNCH_MS, by as little as makes
    `features.descriptors` read its attack, once `finish` has faded it in, at target_ms (n,)
    or one envelope frame (1.5 ms), whichever is longer, in step_db steps and at most max_db
    (n,) dB. Where no gain up to max_db gets there, the gain that gets nearest (and none, if
    none gets nearer than the hit as it is: a swell stays a swell). A hit with max_db 0, or
    already that snappy, is left as it is. (The decoder cannot make an onset sharper than its
    5.8 ms frames: asked for a shorter attack, its kicks stayed at 8.7 ms and its hats
    stopped sounding like hats.)"""
    from .features import ATTACK_HOP, envelope
    if not (max_db > 0).any():
        return y
    out = y.copy()
    frames = min(y.shape[-1] // ATTACK_HOP, 64)                     # the raise is under 1e-13 dB beyond them
    head = frames * ATTACK_HOP
    rise = np.exp(-np.arange(y.shape[-1]) / sr / (PUNCH_MS / 1000))           # (samples,)
    ramp = _onset_fade(sr, head)                                    # `finish`'s fade-in, which the file will have
    fade = np.ones(head)
    fade[:len(ramp)] = ramp
    frame_ms = 1000 * ATTACK_HOP / sr
    for i in np.flatnonzero(max_db > 0):
        gains = 10 ** (np.arange(0, max_db[i] + 1e-9, step_db) / 20) - 1                 # (G,)
        heads = y[i, :head] * fade * (1 + gains[:, None] * rise[:head])                  # (G, head)
        env = np.sqrt(np.mean(heads.reshape(len(gains), frames, ATTACK_HOP).astype(np.float64) ** 2, 2))  # (G, frames)
        tail = envelope(y[i, head:], sr, ATTACK_HOP) if y.shape[-1] - head >= ATTACK_HOP else np.zeros(1)
        full = np.concatenate([env, np.broadcast_to(tail, (len(gains), len(tail)))], 1)    # (G, frames + tail)
        top = full.argmax(1)
        onset = (full >= 0.1 * full.max(1, keepdims=True)).argmax(1)
        attack = top - onset                                                              # (G,) frames
        want = max(np.floor(max(float(target_ms[i]), 0.0) / frame_ms), 1)
        met = np.flatnonzero(attack <= want)
        g = gains[met[0]] if len(met) else gains[int(attack.argmin())]                 # the first of the nearest
        out[i] = y[i] * (1 + g * rise)
    return out


@lru_cache(maxsize=4)
def _highpass(sr: int) -> np.ndarray:
    """infrasound_out's filter, designed once per rate."""
    from scipy.signal import butter
    return butter(4, 20.0, "highpass", fs=sr, output="sos")


def audible(y: np.ndarray, sr: int) -> np.ndarray:
    """(n, samples) hits less what lies under 20 Hz (`infrasound_out`) and over 20 kHz (an 8th-order
    Butterworth low-pass: flat to 19 kHz, -47 dB at 21 kHz). Nobody hears up there, and real recorded hats
    hold at most 3 % of their energy there (16 Hydrogen kits); a generated hat held up to 78 %, which its
    peak normalisation paid for: it sounded 15 dB quieter than its neighbours (BENCHMARKS, session 38)."""
    return _filtered(_band(sr), y)


@lru_cache(maxsize=4)
def _band(sr: int) -> np.ndarray:
    """audible's filters in one cascade, designed once per rate (no low-pass where 20 kHz is not under Nyquist).
    Its figures are at 44.1 kHz, the one rate hits are made at (`codec.SR`): a higher rate's Nyquist warps it less,
    and it falls more slowly past 20 kHz."""
    from scipy.signal import butter
    low = butter(8, 20000.0, "lowpass", fs=sr, output="sos") if sr > 2 * 20500 else np.zeros((0, 6))
    return np.concatenate([_highpass(sr), low])


def hit_streams(seed: int, n: int, rows: list[int] | None = None, draw: int = 0) -> list[torch.Generator]:
    """One random stream per hit: hit i of a seed draws the same numbers whatever n is,
    so `-n 4` and `-n 40` with one seed share their first four hits. draw > 0: the streams
    of hits `rows`' later draws (`Generator.sample`'s memorisation guard)."""
    rows = range(n) if rows is None else rows
    later = [draw] if draw else []
    return [torch.Generator().manual_seed(int(np.random.SeedSequence([seed, i] + later).generate_state(1)[0]))
            for i in rows]


REDRAW_NOISE = 7_777_777   # a later draw's noise seeds are the first's plus this many per draw


def _randn(gens: list[torch.Generator], k: int) -> torch.Tensor:
    """(n, k) normal draws, row i from hit i's stream (`hit_streams`)."""
    return torch.stack([torch.randn(k, generator=g) for g in gens])


SMALL_BATCH = 4   # hits decoded without oneDNN's convolutions (see `_onednn`)


@contextmanager
def _onednn(enabled: bool):
    """oneDNN's convolutions on or off for a block. Its set-up costs more than it saves on a
    hit or two (a single hit 9.4 -> 8.6 ms with it off), and saves half of a 100-hit batch."""
    before = torch.backends.mkldnn.enabled
    torch.backends.mkldnn.enabled = enabled
    try:
        yield
    finally:
        torch.backends.mkldnn.enabled = before


@contextmanager
def _one_thread(enabled: bool):
    """torch on one thread for a block. A hit or a few gain nothing from a second thread,
    and on a busy machine (a DAW, a training beside it) the threads wait on each other:
    one hit took 9 ms on two threads and 4 ms on one with a training running."""
    before = torch.get_num_threads()
    if enabled and before > 1:
        torch.set_num_threads(1)
    try:
        yield
    finally:
        if torch.get_num_threads() != before:
            torch.set_num_threads(before)


def _tone_cap(mix: list[tuple[float | torch.Tensor, torch.Tensor]]) -> torch.Tensor:
    """(n,) dB: the most tonal a hit may be (`codec.no_more_tonal`): BALANCE_MARGIN_DB over the
    `codec.tone_balance`s it mixes ((weight, balances (n,) dB) pairs), mixed by weight as powers."""
    power = sum(w * torch.pow(10.0, b / 10) for w, b in mix)
    return 10 * torch.log10(power.clamp(min=1e-30)) + BALANCE_MARGIN_DB


def _snap(ctls: list[Controls]) -> torch.Tensor:
    """(n,) how far each hit's --attack asks it to be snappier, 0..1 (`Generator.decode`'s snap)."""
    return torch.tensor([max(-x.attack, 0.0) for x in ctls])


def _picks(size: int, gens: list[torch.Generator]) -> torch.Tensor:
    """(n,) uniform draws from range(size), draw i from hit i's stream (`hit_streams`)."""
    return torch.stack([torch.randint(size, (), generator=g) for g in gens])


@contextmanager
def unguarded(gen: "Generator"):
    """The generator without its memorisation guard for a while: its hits' first draws."""
    guard, gen.guard = gen.guard, None
    try:
        yield gen
    finally:
        gen.guard = guard


def _per_hit(ctl: Controls | list[Controls], n: int) -> list[Controls]:
    """One Controls for every hit, or a list of n, as a list of n."""
    ctls = [ctl] * n if isinstance(ctl, Controls) else list(ctl)
    if len(ctls) != n:
        raise ValueError(f"{len(ctls)} controls for {n} hits")
    return ctls


@dataclass
class Generator:
    """A loaded blend model with the label statistics of its training set."""
    model: BlendVAE
    labels_of: torch.Tensor      # (N, L) multi-hot of the training samples
    controls_of: torch.Tensor    # (N, K) the training samples' conditions after the labels: [tone,] 4 z-scored controls
    path: str = ""
    hash: str = ""
    extra: dict = field(default_factory=dict)
    balance_of: torch.Tensor | None = None   # (N,) the training samples' `codec.tone_balance`, dB (older models: none)
    fall_of: torch.Tensor | None = None      # (N,) how fast each rings out past its first second (`codec.tail_fall`,
                                             # dB/s; 0: over by then). Older models: none
    sweep_of: torch.Tensor | None = None     # (N, SWEEP_FRAMES) each one's body over its note (`codec.pitch_sweep`,
                                             # octaves). Older models: none
    _parts: dict = field(default_factory=dict, repr=False, compare=False)   # `_part`'s and `prior`'s cache
    guard: object = field(default=None, repr=False, compare=False)   # a `novelty.Guard` recipes' hits must pass, or None
    redrawn: tuple[int, int, int] = (0, 0, 0)   # the last `sample`: hits the guard drew again, those still near after
                                                # all draws, and those still heard as another type than asked
    draws: list = field(default_factory=list)   # ... and the draw each of its hits is (0: the first)
    lift: bool = field(default=True, compare=False)   # `codec.level_up` (audio version 11); off: an older hit as made
    hush: bool = field(default=True, compare=False)   # `audible`'s low-pass (audio version 12); off: an older hit as made
    heard_note: bool = field(default=True, compare=False)   # `codec.body_note` as heard (13); off: as binned before
    alike: bool = field(default=True, compare=False)   # variations follow their reference (`codec.likeness`, 13); off: not
    bounded: bool = field(default=True, compare=False)  # a reference's controls near the training hits', its
                                                        # variations' holes filled (14, `codec.fill_holes`); off: not
    steady: bool = field(default=True, compare=False)   # a recipe's hit never swells back (16, `codec.no_swell`), and
                                                        # a tail's bands and tone fade out (`codec.gate`, `synthesise`'s
                                                        # knee); off: as made

    @classmethod
    def load(cls, path: str | Path) -> "Generator":
        from .vae import load_hashed
        model, extra, tensors, h = load_hashed(path)
        return cls(model, tensors["data.labels"].float(), tensors["data.controls"].float(),
                   str(path), h, extra, tensors.get("data.balance"), fall_of=tensors.get("data.fall"),
                   sweep_of=tensors.get("data.sweep"))

    @property
    def labels(self) -> list[str]:
        return self.model.cfg.labels

    @property
    def known(self) -> list[str]:
        """The labels a recipe may use: those on at least one training hit (a label seen
        only in the validation kits has no sound to draw on)."""
        return [lab for lab, on in zip(self.labels, (self.labels_of > 0).any(0).tolist()) if on]

    def recipe(self, text: str) -> Recipe:
        """A recipe against this model's labels. A part joined with "+" asks for hits that
        carry all its labels: one no training hit carries is an error, not a silent "any"."""
        known = self.known
        r = parse_recipe(text, known, tuple(x for x in self.labels if x not in known))
        for _, labs in r.parts:
            on = self.labels_of[:, [self.labels.index(x) for x in labs]] > 0              # (N, len(labs))
            if len(labs) > 1 and not bool(on.all(1).any()):
                counts = ", ".join(f"{x} on {int(c)}" for x, c in zip(labs, on.sum(0).tolist()))
                raise RecipeError(f"no training hit is {' and '.join(labs)} at once ({counts}); blend them instead "
                                  f"({','.join(f'{x}={100 // len(labs)}' for x in labs)}) or drop one")
        return r

    def _matches(self, labs: list[str]) -> torch.Tensor:
        """Training samples carrying all labels (else any of them): (N,) bool."""
        cols = [self.labels.index(x) for x in labs]
        match = (self.labels_of[:, cols] > 0).all(1)
        return match if bool(match.any()) else (self.labels_of[:, cols] > 0).any(1)

    def _part(self, labs: list[str]) -> tuple[torch.Tensor, torch.Tensor]:
        """A recipe part's label condition (L,) and the controls of its samples (M, K),
        worked out once per model."""
        key = tuple(labs)
        if key not in self._parts:
            match = self._matches(labs)
            lab = self.labels_of[match].mean(0)
            lab[[self.labels.index(x) for x in labs]] = 1.0
            self._parts[key] = (lab, self.controls_of[match])
        return self._parts[key]

    def prior(self, recipe: Recipe) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(label condition (L,), control mean (K,), control spread (K,)) of a recipe."""
        key = tuple((w, tuple(labs)) for w, labs in recipe.parts)
        if key not in self._parts:
            k = self.controls_of.shape[1]
            lab, mean, std = torch.zeros(len(self.labels)), torch.zeros(k), torch.zeros(k)
            for w, labs in recipe.parts:
                part, ctl = self._part(labs)
                lab += w * part
                mean += w * ctl.mean(0)
                std += w * (ctl.std(0, unbiased=False) if len(ctl) > 1 else torch.ones(k) * 0.5)
            self._parts[key] = (lab, mean, std.clamp(min=0.1))
        return tuple(x.clone() for x in self._parts[key])

    def conditions(self, recipe: Recipe, ctl: Controls | list[Controls], n: int, seed: int = 0) -> torch.Tensor:
        """(n, D) conditions: the recipe's labels, and controls moved by the timbre
        controls from a draw of the recipe's own descriptors. Each draw mixes, by
        weight, the descriptors of one real sample per part (plus a little jitter),
        so brightness, decay and attack keep the combinations real drums have;
        variation pulls the draws towards the recipe's mean. ctl is one Controls
        for every hit or a list of n, one per hit."""
        return self._conditions(recipe, _per_hit(ctl, n), hit_streams(seed, n))[0]

    def _balance(self, parts: list[tuple[float, torch.Tensor]]) -> torch.Tensor | None:
        """(n,) dB: the most tonal hits may be whose recipe parts are (weight, the training rows (n,) each
        hit drew its descriptors from) (`_tone_cap`); None for a model saved without balances."""
        return None if self.balance_of is None else _tone_cap([(w, self.balance_of[rows]) for w, rows in parts])

    def _falls(self, parts: list[tuple[float, torch.Tensor]], shift: torch.Tensor) -> torch.Tensor | None:
        """(n,) dB/s: how fast hits whose recipe parts are (weight, the training rows (n,) each hit drew
        its descriptors from) ring out past their first second: as those real hits did (`codec.tail_fall`),
        mixed by weight over the parts that ring, and as much slower as each hit's --decay (its shift (n, 4),
        z units) makes it longer. NaN where no part rings; None for a model saved without them, whose hits
        fall at 20 dB/s or more (`codec.ring_out`): its crashes stopped at 1.1-2.1 s, where real ones ring 3-5."""
        if self.fall_of is None:
            return None
        num = sum(w * self.fall_of[rows] for w, rows in parts)                         # 0: no tail (`tail_falls`)
        den = sum(w * (self.fall_of[rows] > 0).float() for w, rows in parts)
        fall = torch.where(den > 0, num / den.clamp(min=1e-9), torch.full_like(num, float("nan")))
        return fall / torch.exp(shift[:, 1] * self.model.cfg.control_std[1])

    def _sweeps(self, parts: list[tuple[float, torch.Tensor]]) -> torch.Tensor | None:
        """(n, SWEEP_FRAMES) octaves: the course the bodies of hits whose recipe parts are (weight, the training
        rows (n,) each hit drew its descriptors from) take over their notes in their first frames: those real
        hits' (`codec.pitch_sweep`), mixed by weight over the parts that have a body. None for a model saved
        without them, whose decoder made real kits' kicks without the fall from their knock (`codec.follow_sweep`)."""
        if self.sweep_of is None:
            return None
        num = sum(w * self.sweep_of[rows] for w, rows in parts)                          # (n, frames)
        den = sum(w * (self.sweep_of[rows] != 0).any(1, keepdim=True).float() for w, rows in parts)
        return num / den.clamp(min=1e-9)                                                  # 0 where no part has one

    def _conditions(self, recipe: Recipe, ctls: list[Controls], gens: list[torch.Generator]
                    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None, torch.Tensor | None,
                               torch.Tensor | None]:
        """:meth:`conditions` for one Controls and one random stream per hit, the timbre
        controls' part of them (n, 4), each hit's tone cap (`_balance`; None without), how
        fast it rings out (`_falls`; None without) and its body's pitch sweep (`_sweeps`; None without)."""
        n = len(ctls)
        lab, mean, std = self.prior(recipe)
        c = torch.zeros(n, len(mean))                                       # (n, K): [tone,] 4 controls
        drawn = []                                                          # (weight, training rows (n,)) per part
        for w, labs in recipe.parts:
            pool = self._part(labs)[1]                                       # (M, K)
            pick = _picks(len(pool), gens)
            c += w * pool[pick]
            drawn.append((w, torch.nonzero(self._matches(labs))[:, 0][pick]))
        c[:, -4:] += 0.25 * std[-4:] * _randn(gens, 4)                      # the tone column is not jittered
        variation = torch.tensor([x.variation for x in ctls])[:, None]      # (n, 1)
        c = mean + variation * (c - mean)
        shift = torch.stack([self._shift(x, std[-4:]) for x in ctls])        # (n, 4)
        c[:, -4:] += shift
        sweep = self._sweeps(drawn)
        if sweep is not None:        # a darker hit falls less from its knock: none at --brightness -1
            sweep = sweep * torch.tensor([min(max(1 + x.brightness, 0.0), 1.0) for x in ctls])[:, None]
        return torch.cat([lab.expand(n, -1), c], 1), shift, self._balance(drawn), self._falls(drawn, shift), sweep

    def sources(self, recipe: Recipe, n: int, seed: int = 0) -> torch.Tensor:
        """(n, parts): the training sample (a row of labels_of, in the order of the model's
        train_hashes) whose descriptors hit i of `sample(recipe, n=n, seed=seed)` drew, per
        recipe part. For asking whether a hit sounds like the hit it was conditioned on."""
        gens = hit_streams(seed, n)
        return torch.stack([torch.nonzero(self._matches(labs))[:, 0][_picks(len(self._part(labs)[1]), gens)]
                            for _, labs in recipe.parts], 1)

    def _shift(self, ctl: Controls, std: torch.Tensor) -> torch.Tensor:
        """The timbre controls as a move of the control conditions (4,), in z units."""
        shift = torch.tensor([ctl.brightness, ctl.decay, ctl.attack, 0.0]) * CONTROL_SPAN * std
        shift[3] = ctl.pitch / 12 / self.model.cfg.control_std[3]          # semitones -> z of log2 Hz
        return shift

    def peak_frames(self, cond: torch.Tensor) -> torch.Tensor:
        """How late hits with the attacks that conditions (n, D) ask for may peak, in code
        frames (n,): where real hits with such an attack peak (the median over the
        benchmark library): frame 0 for an attack under one frame (5.8 ms: most hats,
        snares, kicks, toms), else the frame after the attack's last whole frame, as the
        analysis window spreads a slower rise (1-2 frames -> frame 2, 2-3 -> 3, ...)."""
        cfg, cc = self.model.cfg, self.model.cfg.codec_cfg
        ms = torch.expm1(cond[:, -2] * cfg.control_std[2] + cfg.control_mean[2]).clamp(min=0)
        whole = torch.floor(ms / (1000 * cc.hop / cc.sr))
        return torch.where(whole < 1, 0.0, whole + 1).long()

    @torch.no_grad()
    def decode(self, z: torch.Tensor, cond: torch.Tensor, seeds: torch.Tensor,
               shift: torch.Tensor | None = None, keep: list[int] | None = None,
               notes: torch.Tensor | None = None, snap: torch.Tensor | None = None,
               balance: torch.Tensor | None = None, alike: torch.Tensor | None = None,
               fall: torch.Tensor | None = None, longest: float | torch.Tensor = RING_SECONDS,
               stretch: torch.Tensor | None = None, sweep: torch.Tensor | None = None) -> np.ndarray:
        """Latents (n, latent) + conditions (n, D) -> audio (n, samples) float32, peak 1:
        1 s, or as long as the longest hit that still sounds at 1 s rings out (up to
        `longest` seconds, one for all or (n,) one each, `codec.render`; the others are padded
        with silence). Each hit is
        the same in any batch. With `keep`, only those hits of the batch are synthesised
        ((len(keep), samples)), as they are in the whole batch: `--from` remakes hit 777 of
        1000 without synthesising the 999 others.

        shift (n, 4): the part of each condition's controls (z units) that is timbre
        controls (`_shift`). notes (n,): the note each hit's body is put at before any
        --pitch (`in_tune`; variations and morphs: their references'). A pitch move is not
        the decoder's to make: the hit made without it is transposed, body and noise, by exactly the semitones asked (`codec.transpose`).
        The decoder follows brightness only in part, so a hit asked for it is made without
        the move too, and a tilt EQ on its noise makes +0.5 brightness as much brighter than
        that as asked (within ±6 dB/octave), whatever the model learned. Hits asked for a
        short attack start on their peak (`peak_frames`). snap (n,), 0..1: how far --attack
        asks each hit to be snappier (-attack); such a hit is made without the move, and a
        transient shaper (`punch`, up to snap x PUNCH_DB) takes it to the attack asked.
        balance (n,) dB: the most tonal each hit may be (`codec.no_more_tonal`): BALANCE_MARGIN_DB
        over the real hit it was conditioned on (`_balance`) or its reference's (variations,
        morphs). The decoder overdoes a body tone: a quarter of one model's snares rang as a sine
        over a faint noise (real snares' tone sits 8 dB under their noise), and were heard as toms;
        its variations of toms and kicks rang 16-19 dB more tonal than the hits they varied.
        alike (n, C + 1, T) dB: what each hit takes to follow its reference (`codec.likeness`: variations,
        morphs), then the reference's level (`codec.envelope_db`, for `codec.fill_holes`); fall (n,) dB/s:
        how fast each rings out past its first second (`codec.ring_out`); sweep (n, SWEEP_FRAMES) octaves: the
        course each hit's body takes over its note in its first frames (`codec.follow_sweep`: recipes)."""
        if keep is not None and not all(0 <= k < len(z) for k in keep):
            raise ValueError(f"keep {keep} is not among the {len(z)} hits of the batch")
        with _one_thread(len(z) <= SMALL_BATCH):
            return self._decode(z, cond, seeds, shift, keep, notes, snap, balance, alike, fall, longest, stretch,
                                sweep)

    def _code(self, z: torch.Tensor, cond: torch.Tensor, peak: torch.Tensor | None = None) -> torch.Tensor:
        """Latents (m, latent) and conditions (m, D) -> the decoder's codes (m, C, T) dB, each hit
        starting on frame peak (m,) or later (default: where the conditions' attacks ask, `peak_frames`)."""
        cc = self.model.cfg.codec_cfg
        with _onednn(len(z) > SMALL_BATCH):
            x = self.model.decode(z, cond)
        return codec.sharpen_onset(unscale_code(x, cc.floor_db), self.peak_frames(cond) if peak is None else peak, cc)

    def _decode(self, z: torch.Tensor, cond: torch.Tensor, seeds: torch.Tensor, shift: torch.Tensor | None,
                keep: list[int] | None, notes: torch.Tensor | None, snap: torch.Tensor | None,
                balance: torch.Tensor | None, alike: torch.Tensor | None, fall: torch.Tensor | None,
                longest: float | torch.Tensor, stretch: torch.Tensor | None, sweep: torch.Tensor | None) -> np.ndarray:
        cfg = self.model.cfg
        cc = cfg.codec_cfg
        peak = self.peak_frames(cond)                                                   # (n,) as asked
        shift = torch.zeros(len(z), 4) if shift is None else shift
        snap = torch.zeros(len(z)) if snap is None else snap
        attack_ms = torch.expm1(cond[:, -2] * cfg.control_std[2] + cfg.control_mean[2])  # (n,) as asked

        # The decoder never hears --pitch: the hit it makes is transposed whole (`codec.transpose`)
        cond = cond.clone()
        cond[:, -1] -= shift[:, 3]
        # ... nor a snappier attack (asked one, its hats stopped sounding like hats): a transient shaper makes it
        cond[snap > 0, -2] -= shift[snap > 0, 2]
        semitones = 12 * shift[:, 3] * cfg.control_std[3]                               # z units -> semitones

        def made(idx, cond):         # the code of hits idx: decoded, in tune (`notes`), transposed as asked
            code = self._code(z[idx], cond, peak[idx])
            if sweep is not None:    # a recipe's: its body falls from its knock as the real hits it drew on did
                code = codec.follow_sweep(code, sweep[idx], cc)
            if alike is None and self.steady:   # ... and never swells back (a longer kick than the decoder has heard)
                code = codec.no_swell(code, cc)
            if alike is not None:    # a variation: as its reference, and with no hole deeper than it has
                code = codec.follow(code, alike[idx, :-1], cc)
                code = codec.fill_holes(code, alike[idx, -1], cc) if self.bounded else code
            # a hit quieter than any real one (decoded so, or a tom whose tone the cap turned down 24 dB)
            # is brought to their level: its noise, tone and end are cut at levels (the gate, `end_tone`)
            # set against theirs, and its tail stopped 25-35 dB under its peak. The cap again after: a
            # tone raised over SINE_FLOOR_DB counts in its balance.
            capped = (lambda c: c) if balance is None else (lambda c: codec.no_more_tonal(c, balance[idx], cc))
            code = capped(codec.level_up(capped(code), cc)) if self.lift else capped(code)
            code = code if notes is None else in_tune(code, notes[idx], cc, self.heard_note)
            move = semitones[idx] != 0
            if bool(move.any()):
                code[move] = codec.transpose(code[move], semitones[idx][move], cc)
            return code

        everyone = torch.arange(len(z))
        code = made(everyone, cond)
        move = shift[:, 0] != 0
        if bool(move.any()):         # brighter than the same hit made without the move
            plain = cond[move].clone()
            plain[:, -4] -= shift[move, 0]
            before = made(everyone[move], plain)
            # z units -> log Hz of the measured centroid -> log_centroid units
            want = log_centroid(before, cc) + shift[move, 0] * cfg.control_std[0] / cfg.brightness_fit[0]
            code[move] = steer_brightness(code[move], want, cc)
        if stretch is not None and bool((stretch != 1).any()):     # a variation's decay: its tail stretched
            code = codec.stretch_tail(code, stretch, cc)
        # the gate goes before the attack ramp: it is set against the hit as decoded, and a short hat
        # ramped up over 100 ms fell under it whole and was written as a file of silence
        code = codec.gate(code, cfg.gate_db, cc)
        softer = shift[:, 2] > 0
        if bool(softer.any()):       # the decoder hardly follows a slower attack: a sampler's attack ramp does
            ms = torch.expm1(cond[softer, -2] * cfg.control_std[2] + cfg.control_mean[2]).clamp(0, MAX_ATTACK_MS)
            code[softer] = codec.fade_in(code[softer], ms, cc)
        code = codec.end_tone(code, cc)
        env = codec.envelope_db(code, cc)                      # (n, T), worked out once for both steps below
        ended = codec.end_hit(code, cc, env=env)
        # a hit end_hit cut is silent at its end and cannot ring; the others' envelope is unchanged
        cut = (ended[..., -1] != code[..., -1]).any(1)                                   # (n,)
        ring = codec.rings(ended, cc, env=env) & ~cut
        rows = everyone if keep is None else torch.tensor(keep, dtype=torch.long)
        steeper = codec.GATE_STEEPER if self.steady else None     # (an older hit: its tail's bands gated at once)
        if isinstance(longest, torch.Tensor):   # a recipe's hits, a cap each (`_draw`): one its cap cut while it
            y, own = codec.render(ended, cc, seeds, longest, cfg.gate_db, ring=ring, keep=keep, fall=fall, lengths=True,
                                  steeper=steeper, knee=self.steady)
            y = faded_out(y.numpy(), ends=(own * codec.SR).round().long().numpy(),      # sounds fades out over its own
                          cut=(own >= longest[rows] - 1e-6).numpy())                    # end, not the batch's longest
        else:
            y = codec.render(ended, cc, seeds, longest, cfg.gate_db, ring=ring, keep=keep, fall=fall,
                             steeper=steeper, knee=self.steady).numpy()
            if fall is not None:     # a slow tail that `longest` cuts while it sounds fades out (a crash asked longer)
                y = faded_out(y)
        y = audible(y, codec.SR) if self.hush else infrasound_out(y, codec.SR)   # (an older hit: as it was made)
        y = punch(y, attack_ms[rows].numpy(), PUNCH_DB * snap[rows].numpy())
        y /= np.maximum(audio.sample_peaks(y), 1e-6)[:, None]      # in place: 1,000 6 s cymbals are 1 GB a copy
        return y

    def sample(self, recipe: Recipe, ctl: Controls | list[Controls] = Controls(), n: int = 10,
               seed: int = 0, keep: list[int] | None = None, draw: int = 0) -> tuple[np.ndarray, torch.Tensor]:
        """n new hits of a recipe and the conditions they were decoded from:
        ((n, samples) float32 at cfg.sr, (n, D)). ctl is one Controls for all hits
        or one per hit. Deterministic in seed (and in the guard's classifier). With a `guard`,
        a hit nearer a training hit than real hits of different kits are to each other, or one the
        classifier hears as another drum than a one-type recipe asks (`asked_type`), is drawn again
        (`novelty`); `redrawn` then says how many were, how many stayed near and how many were still
        heard as another drum, and `draws` which draw each hit is. The guard hears each draw as the recipe makes
        it, before --brightness, --decay, --attack and --pitch: so a control moves the very hit it moves unasked
        (a snare 12 semitones down is that snare, not another draw because it now sounds like a tom).
        draw > 0 makes that draw of the one hit in `keep`, unguarded (a sidecar's "draw": `--from`); its conditions
        are then (1, D)."""
        ctls = _per_hit(ctl, n)
        for x in ctls:
            x.check()
        rows = list(range(n)) if keep is None else list(keep)
        self.redrawn, self.draws = (0, 0, 0), [draw] * len(rows)
        if draw:                                # what the guard kept of a hit (`--from`)
            if len(rows) != 1:
                raise ValueError("a later draw is made for one kept hit at a time")
            return self._later(recipe, ctls, seed, n, rows[0], draw)
        seeds = torch.arange(n) + seed * 100_003
        if self.guard is None:
            return self._draw(recipe, ctls, hit_streams(seed, n), seeds, keep)
        plain = [replace(x, brightness=0.0, decay=0.0, attack=0.0, pitch=0.0) for x in ctls]
        ys, cond = self._guarded(recipe, plain, seed, n, rows, seeds, keep)
        if plain == ctls:
            return ys, cond
        del ys                                  # (a thousand 6 s cymbals are 1 GB: not two batches at once)
        # the draws kept, made as the controls ask: the first draws as a batch, the later ones alone (`_later`)
        first = [j for j, d in enumerate(self.draws) if d == 0]
        later = [j for j, d in enumerate(self.draws) if d]
        made = [self._later(recipe, ctls, seed, n, rows[j], self.draws[j]) for j in later]
        if first:
            y0, cond = self._draw(recipe, ctls, hit_streams(seed, n), seeds, [rows[j] for j in first])
        else:
            y0, cond = np.zeros((0, 1), np.float32), self._conditions(recipe, ctls, hit_streams(seed, n))[0]
        width = max([y0.shape[1]] + [y.shape[1] for y, _ in made])
        ys = np.zeros((len(rows), width), np.float32)
        ys[first, :y0.shape[1]] = y0
        for j, (y, c) in zip(later, made):
            ys[j, :y.shape[1]], cond[rows[j]] = y[0], c[0]
        return ys, cond

    def _guarded(self, recipe: Recipe, ctls: list[Controls], seed: int, n: int, rows: list[int],
                 seeds: torch.Tensor, keep: list[int] | None) -> tuple[np.ndarray, torch.Tensor]:
        """`sample`'s hits with the guard: each hit's first draw that passes it, else its best (`redrawn`, `draws`)."""
        ys, cond = self._draw(recipe, ctls, hit_streams(seed, n), seeds, keep)
        # the guard (`novelty`): a hit too near a training hit, or of a one-type recipe and heard as another
        # drum, is drawn again, from its own streams
        from .novelty import MAX_DRAWS
        want = self.asked_type(recipe)
        (dist, heard), again = self.guard.measure(ys, want), set()                     # (len(rows),) each
        for r in range(1, MAX_DRAWS):
            redo = np.nonzero(~self.guard.passes(dist, heard))[0]
            if not len(redo):
                break
            idx = [rows[j] for j in redo]
            made = [self._later(recipe, ctls, seed, n, i, r) for i in idx]
            width = max([ys.shape[1]] + [y.shape[1] for y, _ in made])          # hits that ring out are longer
            ys = np.pad(ys, ((0, 0), (0, width - ys.shape[1]))) if width > ys.shape[1] else ys   # (a copy)
            y2 = np.stack([np.pad(y[0], (0, width - y.shape[1])) for y, _ in made])
            c2 = torch.cat([c for _, c in made])
            d2, h2 = self.guard.measure(y2, want)
            better = self.guard.better(d2, h2, dist[redo], heard[redo])   # the first draw that passes, else the best
            ys[redo[better]], dist[redo[better]], heard[redo[better]] = y2[better], d2[better], h2[better]
            cond[torch.tensor(idx)[torch.from_numpy(better)]] = c2[torch.from_numpy(better)]
            for j in redo[better]:
                self.draws[j] = r
            again.update(redo.tolist())
        self.redrawn = (len(again), int((np.isfinite(dist) & ~self.guard.past(dist)).sum()),      # silent: not "near",
                        int(((dist > -np.inf) & ~heard).sum()))                                 # nor another drum
        return ys, cond

    def asked_type(self, recipe: Recipe) -> str | None:
        """The drum type every training hit a recipe draws on is (`kick`, `kick+808`; `808` where the
        library's 808s are all kicks), else None: a blend of types, or a tag on hits of several."""
        lab = self.prior(recipe)[0]                                                      # (L,)
        on = [(x, w) for x, w in zip(self.labels, lab.tolist()) if x in TYPES and w > 1e-6]
        # all of its weight: a tag on kicks and on hits of no known type is no kick recipe
        return on[0][0] if len(on) == 1 and on[0][1] > 1 - 1e-6 else None

    def _later(self, recipe: Recipe, ctls: list[Controls], seed: int, n: int, i: int, r: int
               ) -> tuple[np.ndarray, torch.Tensor]:
        """Draw r > 0 of hit i of a batch of n: ((1, samples), (1, D)). Made alone, as `--from`
        makes it again: a batch's decode differs from a single hit's in the last bits."""
        return self._draw(recipe, [ctls[i]], hit_streams(seed, n, [i], r),
                          torch.tensor([i + seed * 100_003 + r * REDRAW_NOISE]))

    def _draw(self, recipe: Recipe, ctls: list[Controls], gens: list[torch.Generator],
              seeds: torch.Tensor, keep: list[int] | None = None) -> tuple[np.ndarray, torch.Tensor]:
        """Hits of a recipe from one random stream (gens) and noise seed (seeds) each:
        (audio (len(keep or gens), samples), conditions (len(gens), D))."""
        cond, shift, balance, fall, sweep = self._conditions(recipe, ctls, gens)
        variation = torch.tensor([x.variation for x in ctls])[:, None]
        z = variation * _randn(gens, self.model.cfg.latent)
        longest = RING_SECONDS if fall is None else torch.where(torch.isnan(fall), RING_SECONDS, RECIPE_SECONDS)
        return self.decode(z, cond, seeds, shift, keep, snap=_snap(ctls), balance=balance, fall=fall,
                           longest=longest, sweep=sweep), cond

    def generate(self, recipe: Recipe, ctl: Controls | list[Controls] = Controls(), n: int = 10,
                 seed: int = 0, keep: list[int] | None = None, draw: int = 0) -> np.ndarray:
        """n new hits of a recipe: (n, samples) float32 at cfg.sr. Deterministic in seed (`sample`)."""
        return self.sample(recipe, ctl, n, seed, keep, draw)[0]

    def encode(self, y: np.ndarray, recipe: Recipe | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """A reference hit -> (latent mean (latent,), condition (D,)). Its labels are
        the recipe's when given, else none (the latent then carries them)."""
        return self._encode(y, recipe)[:2]

    def _encode(self, y: np.ndarray, recipe: Recipe | None = None
                ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor | None]:
        """`encode`, the note the reference's body is heard at (`codec.body_note`; NaN for none),
        its `codec.tone_balance`, and its code (1, C, T) dB, from the one analysis."""
        from .vae import controls
        cc = self.model.cfg.codec_cfg
        x = codec.normalise(y, cc)
        code = codec.analyse(x, cc)
        lab = self.prior(recipe)[0] if recipe else None
        mu, cond = self.encode_codes(code[None], controls(x, code, cc)[None], lab, self.bounded)
        c = torch.from_numpy(code)[None]
        return mu[0], cond[0], codec.body_note(c, cfg=cc, heard=self.heard_note)[0], codec.tone_balance(c, cc)[0].float(), c

    def _alike(self, ref: torch.Tensor, mu: torch.Tensor, cond: torch.Tensor) -> torch.Tensor | None:
        """What the decoder's hits near a reference (its code ref (1, C, T), latent mu (latent,), condition
        cond (D,)) take to follow it, (C + 1, T) dB: `codec.likeness` against what the decoder makes of its
        latent (C, T), then the reference's level (1, T) (`codec.fill_holes`). (Against the mean of
        8 draws spread as --variation 1 spreads them instead: the same figures, BENCHMARKS.md, session 41.)
        None for an older hit, made without."""
        if not self.alike:
            return None
        cc = self.model.cfg.codec_cfg
        return torch.cat([codec.likeness(ref, self._code(mu[None], cond[None]), cc)[0], codec.envelope_db(ref, cc)])

    @torch.no_grad()
    def encode_codes(self, code: np.ndarray, raw: np.ndarray, lab: torch.Tensor | None = None,
                     bounded: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
        """Analysed hits: codes (n, C, T) dB and raw controls (n, 4) (`vae.controls`; a
        workspace caches both) -> (latent means (n, latent), conditions (n, D)). lab (L,)
        is every hit's label condition (default: none). bounded: each control z-score held
        within REFERENCE_MARGIN of the training hits' own (a reference: the decoder never heard a
        condition far past them, and a tiny library's kicks, all near one pitch, set a 30 ms click's
        pitch 45 spreads out: the decoder made it at 9,900 dB and wrote "not a number")."""
        cfg = self.model.cfg
        ctl = torch.from_numpy(control_columns(np.asarray(raw, np.float32), cfg))        # (n, K)
        if bounded:
            seen = self.controls_of[:, -4:]                                             # (N, 4) z-scores
            top, bottom = seen.amax(0) + REFERENCE_MARGIN, seen.amin(0) - REFERENCE_MARGIN
            ctl[:, -4:] = torch.maximum(torch.minimum(ctl[:, -4:], top), bottom)
        lab = torch.zeros(len(self.labels)) if lab is None else lab
        cond = torch.cat([lab.expand(len(ctl), -1), ctl], 1)                           # (n, D)
        mu, _ = self.model.encode(scale_code(torch.from_numpy(np.asarray(code, np.float32)), cfg.codec_cfg.floor_db), cond)
        return mu, cond

    def like(self, y: np.ndarray, ctl: Controls = Controls(), n: int = 10, seed: int = 0,
             recipe: Recipe | None = None, keep: list[int] | None = None) -> np.ndarray:
        """n variations of a reference hit: latents drawn near its own, spread by variation."""
        ctl.check()
        gens = hit_streams(seed, n)
        mu, cond, note, balance, code = self._encode(y, recipe)
        z = mu + 0.5 * ctl.variation * _randn(gens, len(mu))
        std = self.prior(recipe)[2][-4:] if recipe else torch.ones(4) * 0.5
        alike = self._alike(code, mu, cond)
        c = cond.expand(n, -1).clone()
        shift = self._shift(ctl, std)
        c[:, -4:] += 0.3 * ctl.variation * std * _randn(gens, 4) + shift
        longer = c[:, -3] - cond[-3]                      # (n,) z units: each hit's decay against the reference's
        stretch = None
        if alike is not None:    # the decoder hears the reference's decay (`likeness` would undo another): the tail
            c[:, -3] = cond[-3]  # is stretched instead, as a sampler's decay knob (`codec.stretch_tail`)
            stretch = torch.exp(longer * self.model.cfg.control_std[1])
        return self.decode(z, c, torch.arange(n) + seed * 100_003, shift.expand(n, -1), keep, note.expand(n),
                           _snap([ctl] * n), (balance + BALANCE_MARGIN_DB).expand(n),
                           None if alike is None else alike.expand(n, -1, -1), self._fall(y, longer),
                           self._longest(y, stretch), stretch)

    def between(self, a: np.ndarray, b: np.ndarray, steps: int = 5, seed: int = 0,
                keep: list[int] | None = None) -> np.ndarray:
        """A morph from hit a to hit b in `steps` hits (a and b included)."""
        if steps < 2:
            raise RecipeError("--steps must be at least 2")
        za, ca, na, ba, code_a = self._encode(a)
        zb, cb, nb, bb, code_b = self._encode(b)
        la, lb = self._alike(code_a, za, ca), self._alike(code_b, zb, cb)
        t = torch.linspace(0, 1, steps)[:, None]
        fa, fb = self._fall(a, torch.zeros(1)), self._fall(b, torch.zeros(1))   # (1,) each; NaN: no tail known
        if fa is not None:       # a tail from one end only (a kick to a crash): the steps between ring as that one
            fa, fb = torch.where(torch.isnan(fa), fb, fa), torch.where(torch.isnan(fb), fa, fb)
        fall = None if fa is None else fa + t[:, 0] * (fb - fa)
        na, nb = (na if torch.isfinite(na) else nb), (nb if torch.isfinite(nb) else na)   # a hat's end: the tom's note
        return self.decode(za + t * (zb - za), ca + t * (cb - ca), torch.full((steps,), seed), keep=keep,
                           notes=na + t[:, 0] * (nb - na), balance=_tone_cap([(1 - t[:, 0], ba), (t[:, 0], bb)]),
                           alike=None if la is None else la + t[:, :, None] * (lb - la), fall=fall,
                           longest=max(self._longest(a), self._longest(b)))

    def _fall(self, y: np.ndarray, longer: torch.Tensor) -> torch.Tensor | None:
        """How fast variations of reference y ring out past their first second (`codec.tail_fall`, dB/s), each
        moved by how much longer its decay condition is than the reference's (longer (n,), z units); None for
        an older hit, made without."""
        if not self.alike:
            return None
        # read over its first 3 s: a crash's tail slows as it goes (11 dB/s to 3 s, 5 to its end at 8 s), and
        # its first seconds are what is heard; the variation then fades at that rate, as long as the reference
        return codec.tail_fall(y, until=RING_SECONDS) / torch.exp(longer * self.model.cfg.control_std[1])

    def _longest(self, y: np.ndarray, stretch: torch.Tensor | None = None) -> float:
        """The longest variations of reference y ring out: as long as it (times the longest decay stretch asked),
        from RING_SECONDS to LIKE_SECONDS (variations of held-out crashes of 3-8 s stopped at 3 s, 0.63 of their
        length). RING_SECONDS for an older hit, made so."""
        if not self.alike:
            return RING_SECONDS
        most = 1.0 if stretch is None else max(1.0, float(stretch.max()))
        return float(np.clip(most * len(y) / codec.SR, RING_SECONDS, LIKE_SECONDS))


def in_tune(code: torch.Tensor, notes: torch.Tensor, cfg: codec.CodecConfig = codec.CODEC,
            heard: bool = True) -> torch.Tensor:
    """Codes (n, C, T) dB whose body sine is moved, its course kept, so that it is heard at
    `notes` (n,), log2(Hz / 100) (`codec.body_note`); a hit with no note or no body is left
    as it is. The decoder's pitch leans towards the library's average: a variation of a
    144 Hz tom at --variation 0 came out at 86 Hz. For variations and morphs, whose
    references say the note: a recipe draws a training hit's pitch as its condition, a
    level-weighted one, and tuned to that a benchmark model's kicks rose from 55 to 81 Hz
    (median) and one in 12 was heard as a tom (BENCHMARKS.md, session 28)."""
    notes, out = notes.to(code.dtype), code.clone()
    lowest = float(np.log2(cfg.sine_fmin / 100))                  # no lower than the lowest body the codec knows
    for _ in range(3):               # the note is a peak among frequency bins: moved, it may land a bin off
        have = codec.body_note(out, cfg=cfg, heard=heard)
        move = torch.isfinite(notes) & torch.isfinite(have)
        out[move, codec.FREQ] = (out[move, codec.FREQ] + (notes - have)[move, None]).clamp(min=lowest)
    return out


CUT_FADE_S = 0.5      # how long a hit cut while it still sounds fades out over (`faded_out`)


def faded_out(y: np.ndarray, sr: int = codec.SR, below_db: float = 60.0, ends: np.ndarray | None = None,
              cut: np.ndarray | None = None) -> np.ndarray:
    """Hits (n, samples) whose last 50 ms still sound within below_db of their peak, faded out over
    their last CUT_FADE_S with a raised cosine; the others as they are. A variation rings out as long
    as its reference, up to LIKE_SECONDS: a 8 s crash asked for --decay 1 stopped at 10 s at -41 dB.
    ends (n,): each hit's own last sample + 1 (a batch pads its hits to its longest), and cut (n,) bool:
    the hits that may fade (those their cap cut); default: every hit, at the batch's end."""
    ends = np.full(len(y), y.shape[1]) if ends is None else np.minimum(ends, y.shape[1])
    tail, k = int(0.05 * sr), int(CUT_FADE_S * sr)
    out = y
    for i in np.flatnonzero(np.ones(len(y), bool) if cut is None else cut):
        e = int(ends[i])
        if np.abs(y[i, max(0, e - tail):e]).max(initial=0) > np.abs(y[i]).max() * 10 ** (-below_db / 20):
            out = y.copy() if out is y else out
            m = min(k, e)
            out[i, e - m:e] *= (0.5 + 0.5 * np.cos(np.linspace(0, np.pi, m))).astype(y.dtype)
    return out


def finish(y: np.ndarray, sr: int = codec.SR, floor_db: float = -60.0, fade_ms: float = 10.0) -> np.ndarray:
    """Trim leading silence and the tail below floor_db (relative to peak), and fade
    in over ONSET_FADE_MS: a generated hit starts at full level on its first sample
    (its noise's first frame is centred there), which clicks; half a millisecond
    keeps the attack. The writer adds the fade-out, headroom and DC removal."""
    from .audio import trim_leading_silence
    y = trim_leading_silence(np.asarray(y, np.float32)).copy()
    fade = _onset_fade(sr, len(y))
    y[:len(fade)] *= fade
    env = np.abs(y)
    above = np.flatnonzero(env >= env.max() * 10 ** (floor_db / 20))
    end = min(len(y), int(above[-1]) + 1 + int(fade_ms / 1000 * sr)) if len(above) else len(y)
    return y[:end]


def write_hits(ys: np.ndarray | list[np.ndarray], outdir: str | Path, stem: str, sidecar: dict, sr: int = codec.SR,
               indices: list[int] | None = None, draws: list[int] | None = None) -> list[Path]:
    """Write hits as <stem>_<i>.wav (24-bit, -1 dBFS peak, faded) with a JSON
    sidecar each: the sidecar plus the hit's index regenerates it exactly. Hits
    already there under those names are replaced only by the same hits made again;
    otherwise the new ones go under <stem>-2, -3, … (`_placed`). `indices` are the
    hits' numbers in the batch they were made in (default 0, 1, …), when a batch is
    written to several folders; `draws` (one per hit) the draw the memorisation guard kept of
    each, said in its sidecar where it is not the first (`Generator.sample`)."""
    from .library import atomic_write_json, file_hash
    outdir = Path(outdir)
    indices = list(range(len(ys))) if indices is None else [int(i) for i in indices]
    kept = {i: int(draws[k]) if draws is not None else 0 for k, i in enumerate(indices)}   # index -> draw
    placed = _placed(outdir, short_stem(stem), sidecar, indices, kept)
    paths = []
    for k, (i, y) in enumerate(zip(indices, ys)):
        path = outdir / placed[i]
        own = {**sidecar, "index": i, **({"draw": int(draws[k])} if draws is not None and draws[k] else {})}
        # the sidecar first: a run stopped between the two leaves a hit the same command knows as its own
        atomic_write_json(path.with_suffix(".json"), own)
        audio.write(path, finish(y, sr), sr=sr, peak_db=-1.0, fade_ms=10)
        # ... then with the file's hash: a hit edited in place since is no longer one to replace
        atomic_write_json(path.with_suffix(".json"), {**own, "audio_hash": file_hash(path)})
        paths.append(path)
    return paths


def hit_name(stem: str, i: int, sidecar: dict, digits: int = 2) -> str:
    """<stem>_<i + 1>.wav, numbered with as many digits as the batch needs (at least
    `digits`), so a file browser lists hit 100 after hit 99, not after hit 10."""
    made = max(int(sidecar.get("n") or sidecar.get("steps") or 0), i + 1)
    return f"{stem}_{i + 1:0{max(digits, len(str(made)))}d}.wav"


def numbered_digits(outdir: Path, stem: str) -> int:
    """The widest number of a hit already written under `stem` in outdir, sidecar and all
    (two if none): `-n 4` after `-n 150` wrote its hits as _01 … _04 beside _001 … _004,
    the same hits twice."""
    pattern = re.compile(re.escape(stem) + r"_(\d+)\.wav")
    found = (pattern.fullmatch(p.name) for p in outdir.glob(glob.escape(stem) + "_*.wav")
             if p.with_suffix(".json").exists())
    return max([2] + [len(m.group(1)) for m in found if m])


def same_audio(version, mode: str, controls, unlifted: bool = False) -> bool:
    """Whether this Drummy makes a hit of an earlier audio version (its sidecar's) to the bit. Each version since
    changed some hits only: 16 a recipe's hits whose level swelled back (`codec.no_swell`), the tails of hits that ring
    past their first second (`codec.GATE_STEEPER`) and hits whose body sine falls to its floor (`codec.SINE_KNEE_DB`;
    `Generator.steady`, off for an older hit, makes them as they were);
    15 a recipe's hits of a model that keeps its training hits' pitch sweeps (`--from` of
    an older hit reads none, `cli._remake`; such a model is younger than any version-14 Drummy); 14 variations and morphs of a reference whose controls lie far past every training
    hit's, or that dip far under their reference (`Generator.bounded`, off for an older hit, makes them as they
    were), and a recipe's hits of a model that keeps its training hits' tails (`--from` of an older hit reads none,
    `cli._remake`); 13 variations and morphs (`Generator.heard_note` and `alike`, off for an older hit, make them as they
    were); 12 every hit, in its last bits at least (`audible`'s low-pass, off for an older hit as `Generator.lift`
    is); 11 those decoded quieter than real hits (`Generator.lift`, off for an older hit, makes them as they were:
    `unlifted`, as `--from` makes one; a command run again makes hits with it on, so an older set is not replaced in
    place but goes beside); 10 none (a hit drawn past the memorisation guard says so in its sidecar, which a
    version-9 Drummy does not read); 9 a slower --attack; 8 a recipe's snappier --attack and any hit of a model that
    keeps tone balances (so `--from` also asks a version-7 hit's model to keep none; a model that made a version-7
    hit was trained before balances were kept). Malformed controls raise what `--from` reports as a damaged sidecar."""
    if type(version) is not int:
        return False
    attack = float((controls or {}).get("attack", 0))
    return {AUDIO_VERSION: True, 15: unlifted, 14: unlifted, 13: unlifted,
            12: unlifted,
            11: unlifted, 10: unlifted, 9: unlifted,
            8: unlifted and attack <= 0,
            7: unlifted and mode == "blend" and attack == 0}.get(version, False)


def same_hit(path: Path, sidecar: dict, i: int, draw: int = 0) -> bool:
    """Whether hit i of a batch with this sidecar, the memorisation guard's draw `draw` of it, may
    be written at path: nothing is there, or the same hit made before (`free_stem`), as it was
    written: a hit edited in place since (its file no longer the one its sidecar's hash names) is
    the producer's."""
    from .library import file_hash

    def ours(d: dict) -> dict:   # what decides a hit's audio, as its JSON sidecar reads back; an earlier
        # not the guard: the draw it kept (compared apart) says what it made of the hit. A guard worked out
        # again elsewhere read its line a few last bits off, and a set made with none (before a classifier,
        # or before a library with no memorisation line got the type check) is the same where its draw is
        return {k: v for k, v in d.items()      # audio version too, where it makes the same (`same_audio`)
                if k not in ("n", "drummy", "recipe", "recipe_parts", "audio_hash", "audio_version", "draw", "guard")}

    def same_recipe(a: dict, b: dict) -> bool:   # as typed, or as parsed (Kick=100 is kick)
        return a.get("recipe") == b.get("recipe") or (
            a.get("recipe_parts") is not None and a.get("recipe_parts") == b.get("recipe_parts"))

    if not path.exists() and not path.with_suffix(".json").exists():
        return True
    try:
        old, new = json.loads(path.with_suffix(".json").read_text()), json.loads(json.dumps({**sidecar, "index": i}))
        if not (ours(old) == ours(new) and same_recipe(old, new) and old.get("draw", 0) == draw and (
                old.get("audio_version") == new.get("audio_version")
                or same_audio(old.get("audio_version", 1), old.get("mode"), old.get("controls")))):
            return False
        # a sidecar from before hashes were kept, or a run stopped before the hash: the file is taken as written
        return "audio_hash" not in old or not path.exists() or file_hash(path) == old["audio_hash"]
    except (OSError, ValueError, AttributeError, TypeError, OverflowError):   # unreadable, or not a sidecar of ours
        return False


def short_stem(stem: str, limit: int = 120) -> str:
    """A file stem of at most `limit` UTF-8 bytes: a long recipe keeps its start and a
    hash of the whole (file systems stop at 255 bytes; the sidecar keeps the recipe)."""
    raw = stem.encode(errors="surrogateescape")     # a reference named in bytes that are not UTF-8
    if len(raw) <= limit:
        return stem
    import hashlib
    head = raw[:limit - 9].decode(errors="ignore").rstrip("-_+")
    return f"{head}~{hashlib.sha1(raw).hexdigest()[:8]}"


def free_stem(outdir: Path, stem: str, n: int, sidecar: dict, indices: list[int] | None = None) -> str:
    """`stem`, or stem-2, stem-3, …: the first under which n hits would replace no file
    but the same hits made before (the same command run again; `-n` aside, since hit i
    of a seed does not depend on it). A retrained model, another reference file of the
    same name or `kick=80.4` after `kick=80` would otherwise write over hits a producer
    may have kept, with no model left to make them again."""
    return _free_stem(outdir, stem, n, sidecar, indices)[0]


def _placed(outdir: Path, stem: str, sidecar: dict, indices: list[int], draws: dict[int, int]) -> dict[int, str]:
    """Where each hit of a batch goes: its file name per index. A hit made before under stem,
    stem-2, … (as written: not edited since) is written again there, under the name it has, so
    `-n 200` after `-n 10` keeps _01 … _10 (a beat's `sample =` line or a DAW's project names them)
    and numbers the new ones _011 … _200; the others go together, beside
    those if they replace nothing there, else under the first stem where they replace nothing
    (`free_stem`): never among another model's set. Run again after a producer edited
    one hit in place, a command rewrites its other hits where they are and puts only that one
    beside (it copied the whole set, and a beat then found every other hit twice). draws: the
    guard's draw of each index (`same_hit`)."""
    where: dict[int, str] = {}
    pattern = re.compile(re.escape(stem) + r"-(\d+)_\d+")
    ks = {1} | {int(m[1]) for f in outdir.glob(glob.escape(stem) + "-*_*.json") if (m := pattern.fullmatch(f.stem))}
    used = []                        # the stems that hold them
    for k in sorted(ks):             # the hits made before, wherever they went, under as many digits as they have
        s = stem if k == 1 else f"{stem}-{k}"
        digits = numbered_digits(outdir, s)
        found = {}
        for i in [i for i in indices if i not in where]:
            found |= {i: f for f in reversed(_names(s, i, sidecar, digits))    # (the name it would get last: it wins
                      if (outdir / f).exists() and same_hit(outdir / f, sidecar, i, draws[i])}   # where both are there)
        where |= found
        used += [k] * bool(found)
    rest = [i for i in indices if i not in where]     # ... and the others together: beside this batch's own
    s, digits = _free_stem(outdir, stem, len(rest), sidecar, rest, first=used, draws=draws)
    return where | {i: hit_name(s, i, sidecar, digits) for i in rest}


def _free_stem(outdir: Path, stem: str, n: int, sidecar: dict, indices: list[int] | None,
               first: list[int] = (), draws: dict[int, int] | None = None) -> tuple[str, int]:
    """`free_stem` and the digits its hits are numbered with there (`numbered_digits`). The
    stems numbered `first` are tried before stem, stem-2, … (`_placed`: a batch's own hits' stems)."""
    for k in itertools.chain(first, itertools.count(1)):
        s = stem if k == 1 else f"{stem}-{k}"
        digits = numbered_digits(outdir, s)
        # under any of the names hit i may have there: a retrained model's _001 … went in among an earlier
        # model's _01 … _10, _011 … _200 (the set grown), and a remake of an edited _05 to _005
        if all(same_hit(outdir / f, sidecar, i, (draws or {}).get(i, 0))
               for i in (range(n) if indices is None else indices) for f in _names(s, i, sidecar, digits)):
            return s, digits


def _names(stem: str, i: int, sidecar: dict, digits: int) -> list[str]:
    """The names hit i may have under stem: the one it gets (`hit_name`), then with fewer digits, as a
    smaller batch wrote it before a bigger one (`_placed`: it keeps that name)."""
    wide = hit_name(stem, i, sidecar, digits)                       # (its digits: len(wide) - len(stem) - 5)
    return list(dict.fromkeys([wide, *(f"{stem}_{i + 1:0{d}d}.wav" for d in range(len(wide) - len(stem) - 6, 1, -1))]))


def sidecar(gen: Generator, mode: str, **kw) -> dict:
    """What a generated hit needs to be made again: mode, arguments, seed, model hash."""
    from . import __version__
    model = str(Path(gen.path).resolve()) if gen.path else ""       # absolute: --from works from any folder
    out = {"drummy": __version__, "audio_version": AUDIO_VERSION, "model": model, "model_hash": gen.hash, "mode": mode}
    for k, v in kw.items():
        out[k] = asdict(v) if isinstance(v, Controls) else v
    return out


def names_a_type(recipe: Recipe) -> bool:
    """Whether a recipe asks for a drum type (`808` alone, a tag, asks for none)."""
    return any(lab in TYPES for _, labs in recipe.parts for lab in labs)


def dominant_type(gen: Generator, recipe: Recipe) -> str:
    """The drum type a recipe leans to most (for the output folder); "blend" for one whose
    labels carry no drum type (tags on samples of unknown type), not the first type."""
    lab = gen.prior(recipe)[0]
    types = [i for i, lab_ in enumerate(gen.labels) if lab_ in TYPES]
    best = max(types, key=lambda i: float(lab[i]), default=None)
    return gen.labels[best] if best is not None and float(lab[best]) > 1e-6 else "blend"


"""The memorisation guard: a generated hit that sits closer to a training hit than real
hits of different kits sit to each other is drawn again; so is a hit of a one-type recipe
(`kick`, `kick+808`) that the classifier hears as another drum (a "hihat" it hears as a snare).

Distances are the quality metrics' own: the classifier's embedding, projected onto the
main axes of the training hits' embeddings (`Judge`). The threshold is what the
training library itself shows: each training hit's distance to its nearest hit of the
same drum type from another kit (another folder, in a library of one kit), at the
GUARD_PERCENTILE-th percentile. A hit under it is drawn again, with a fresh draw of its recipe's
conditions and latent, up to MAX_DRAWS draws in all; the first draw that clears the
threshold (and is heard as the type asked) is kept, else the best by `Guard.better`.
A library where no drum type comes from two kits or folders (one pack filed `Kicks/`,
`Snares/`) shows no such line: its guard (`hearing`) only draws again a hit heard as
another drum. Each hit's draws come from its own random
streams (`generate.hit_streams`), so a hit is the same in any batch and its first draw
is the hit an unguarded generator makes.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import audio
from . import classifier as clf
from . import codec

GUARD_PERCENTILE = 5.0   # the share of real cross-kit neighbours that may sit closer than a generated hit may
MAX_DRAWS = 8            # draws per hit, the first included (a benchmark model's kicks: a third still sat under
                         # the memorised line after 4 draws, 5 % after 8; BENCHMARKS, session 31)
DIMS = 32                # principal axes of the embedding that distances are measured on
SILENT = 1e-4            # a hit's peak under this (its peak is 1 where it sounds) is no hit
CHUNK = 256              # training hits heard at once (the classifier's own batch: the same embeddings)
GUARD_VERSION = 3        # bump when the embedding or the line changes: a kept guard is then worked out again


def nearest(a: np.ndarray, b: np.ndarray, chunk: int = 64) -> np.ndarray:
    """Distance from each row of a to its nearest row of b: (len(a),); inf where b is empty.
    Rows of a in chunks: a thousand hits against ten thousand at once is gigabytes."""
    if len(a) == 0 or len(b) == 0:
        return np.full(len(a), np.inf)
    return np.concatenate([np.sqrt(((a[i:i + chunk, None] - b[None]) ** 2).sum(-1)).min(1)
                           for i in range(0, len(a), chunk)])


def project(emb: np.ndarray, mean: np.ndarray, axes: np.ndarray) -> np.ndarray:
    """Embeddings (N, embed_dim) on the axes (embed_dim, dims): (N, dims). Not by BLAS, whose
    last bits move with its thread count: a guard worked out under OMP_NUM_THREADS=1 read
    another line, and a rerun of the same command wrote its hits again beside the first."""
    return np.einsum("ne,ed->nd", emb - mean, axes)


class Judge:
    """The classifier as a critic: probabilities and projected embeddings of audio."""

    def __init__(self, model: clf.DrumClassifier, reference=None, dims: int = DIMS,
                 mean: np.ndarray | None = None, axes: np.ndarray | None = None,
                 embedded: np.ndarray | None = None):
        """reference: audio (N, samples), or an iterable of such chunks (a big library's hits are not
        held at once: 5,000 of them took 1.75 GB); or embedded: their embeddings (N, embed_dim), as a
        judge with no axes gives them, already worked out."""
        self.model = model
        self.reference = None                                          # (N, dims) the reference audio, projected
        if reference is not None or embedded is not None:
            from threadpoolctl import threadpool_limits
            emb = embedded if embedded is not None else self._embed(reference) if isinstance(reference, np.ndarray) \
                else np.concatenate([self._embed(c) for c in reference])   # (the embedding's own batches: the same)
            mean = emb.mean(0)
            with threadpool_limits(1, user_api="blas"):               # the same axes at any thread count
                _, _, vt = np.linalg.svd(emb - mean, full_matrices=False)
            axes = vt[:dims].T
            self.reference = project(emb, mean, axes)
        self.mean, self.axes = mean, axes                              # (embed_dim,), (embed_dim, dims)

    def _mels(self, ys: np.ndarray) -> np.ndarray:
        return clf.log_mels(ys)

    def _embed(self, ys: np.ndarray) -> np.ndarray:
        return clf.embed(self.model, self._mels(ys))

    def __call__(self, ys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(probabilities (N, classes), projected embeddings (N, dims); (N, embed_dim) where the
        judge has no axes: `hearing`'s, which measures no distance)."""
        probs, emb = clf.predict_embed(self.model, self._mels(ys))
        return probs, emb if self.axes is None else project(emb, self.mean, self.axes)


def cross_kit_distances(emb: np.ndarray, units: list[str], types: list[str], chunk: int = 64) -> np.ndarray:
    """Each hit's distance to its nearest hit of the same drum type from another unit (kit
    or folder): (N,); NaN for a hit whose type comes from one unit only. Of the same type: in
    a library filed by type (Kicks/, Snares/), a hit's nearest of another folder is another
    drum, far further than one kit's kick from another's. By type, in chunks of hits (a loop over
    every hit took 1.9 s at 5,000 hits, 30 s projected at 20,000); each distance is `nearest`'s."""
    units_, types_ = np.asarray(units), np.asarray(types)
    out = np.full(len(emb), np.nan)
    for t in np.unique(types_):
        rows = np.flatnonzero(types_ == t)
        e, u = emb[rows], units_[rows]
        for i in range(0, len(rows), chunk):
            d = np.sqrt(((e[i:i + chunk, None] - e[None]) ** 2).sum(-1))       # (chunk, n_t)
            d[u[i:i + chunk, None] == u[None]] = np.inf                        # not of its own unit
            best = d.min(1)
            out[rows[i:i + chunk]] = np.where(np.isfinite(best), best, np.nan)
    return out


def units_of(kits: list[str], groups: list[str], types: list[str]) -> list[str] | None:
    """What counts as "another kit": the kits, where some drum type comes from two or more;
    else the folders, where one does; None where no type does (nothing to compare with)."""
    for units in (kits, groups):
        if any(len({u for u, t in zip(units, types) if t == t_}) >= 2 for t_ in set(types)):
            return list(units)
    return None


@dataclass
class Guard:
    judge: Judge
    train: np.ndarray              # (N, dims) the training hits' projected embeddings; (0, dims) in `hearing`'s
    threshold: float | None        # a generated hit nearer than this to a training hit is drawn again; None: no
    classifier_hash: str           # line to keep hits from (`hearing`), only the type check

    def distance(self, ys: np.ndarray) -> np.ndarray:
        """Each hit's distance to its nearest training hit: (n,); -inf for a silent one (all
        under the noise gate: far from every real hit, and no hit to keep)."""
        return self.measure(ys)[0]

    def measure(self, ys: np.ndarray, want: str | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(`distance` (n,), whether the classifier hears each hit as the drum type `want` (n,) bool:
        True where no type is asked, or the classifier does not know it; False for a silent hit), from
        one hearing."""
        if not len(ys):
            return np.zeros(0), np.zeros(0, bool)
        probs, emb = self.judge(ys)                                            # (n, classes), (n, dims)
        d = np.where(audio.sample_peaks(ys) > SILENT, nearest(emb, self.train), -np.inf)
        want = self.checks(want)
        heard = (probs.argmax(1) == list(self.judge.model.cfg.classes).index(want) if want
                 else np.ones(len(ys), bool))
        return d, heard & (d > -np.inf)          # a silent draw is no drum: never kept over a sounding one for its type

    def checks(self, want: str | None) -> str | None:
        """The drum type the guard hears hits for when `want` is asked: it, where the classifier knows it."""
        return want if want in self.judge.model.cfg.classes else None

    def past(self, dist: np.ndarray) -> np.ndarray:
        """(n,) bool: a hit past the memorisation line (with no line: a sounding hit)."""
        return dist >= self.threshold if self.threshold is not None else dist > -np.inf

    def passes(self, dist: np.ndarray, heard: np.ndarray) -> np.ndarray:
        """(n,) bool: a hit past the memorisation line and heard as the type asked."""
        return self.past(dist) & heard

    def better(self, d2: np.ndarray, h2: np.ndarray, d1: np.ndarray, h1: np.ndarray) -> np.ndarray:
        """(n,) bool: whether draw 2 is the one to keep over draw 1. Past the memorisation line comes
        first (the guard's promise), then heard as the type asked, then the farther."""
        p2, p1 = self.past(d2), self.past(d1)
        return (p2 > p1) | ((p2 == p1) & ((h2 > h1) | ((h2 == h1) & (d2 > d1))))

    def stamp(self) -> dict:
        """What a hit's sidecar keeps of the guard that passed it (`generate.sidecar`)."""
        return {"classifier_hash": self.classifier_hash, "threshold": self.threshold}


def build(model: clf.DrumClassifier, train_audio, units: list[str], types: list[str],
          classifier_hash: str, percentile: float = GUARD_PERCENTILE) -> Guard:
    """A guard from the classifier and the generator's training hits (N, samples), or chunks of
    them (`Judge`), normalised as the metrics take them, with the kit (or folder) and drum type of each."""
    judge = Judge(model, train_audio)
    emb = judge.reference
    threshold = float(np.nanpercentile(cross_kit_distances(emb, units, types), percentile))
    return Guard(judge, emb.astype(np.float32), threshold, classifier_hash)


def hearing(model: clf.DrumClassifier, classifier_hash: str) -> Guard:
    """A guard with no memorisation line, only the type check: for a library where no drum type
    comes from two kits or folders, so there is no line to keep hits from (`units_of`)."""
    return Guard(Judge(model), np.zeros((0, DIMS), np.float32), None, classifier_hash)


def guard_path(ws) -> Path:
    from .library import vae_path
    return vae_path(ws).with_name("guard.safetensors")


def for_workspace(ws, gen, progress: bool = True) -> Guard | None:
    """The guard for a workspace's generator and classifier: read from models/guard.safetensors,
    or worked out (a few seconds) and kept there when either model or the library has changed.
    None where the workspace has no classifier; only the type check (`hearing`) where no drum type
    of the generator's training hits comes from two kits or folders (`units_of`)."""
    import sys
    from safetensors import SafetensorError, safe_open
    from safetensors.numpy import save
    from .library import atomic_write_bytes, classifier_path
    cpath = classifier_path(ws)
    if not cpath.exists():
        return None
    path = guard_path(ws)
    model, chash = clf.load_hashed(cpath)      # one read: `train classifier` may replace the file meanwhile
    hashes = [h for h in gen.extra.get("train_hashes", []) if h in ws.samples]
    kits, groups = [ws.samples[h].kit or "" for h in hashes], [ws.samples[h].group for h in hashes]
    types = [ws.samples[h].drum_type for h in hashes]
    hits = hashlib.sha256(json.dumps([hashes, kits, groups, types]).encode()).hexdigest()[:16]
    key = {"version": GUARD_VERSION, "vae_hash": gen.hash, "classifier_hash": chash, "hits": hits,
           "percentile": GUARD_PERCENTILE, "dims": DIMS}
    try:
        with safe_open(str(path), "np") as f:
            meta = f.metadata() or {}
            if json.loads(meta.get("key", "{}")) == key:
                t = {k: f.get_tensor(k) for k in ("mean", "axes", "train")}
                return Guard(Judge(model, mean=t["mean"], axes=t["axes"]), t["train"], float(meta["threshold"]), chash)
    except (OSError, ValueError, KeyError, SafetensorError):
        pass                                              # none yet, an older one, or damaged: worked out again
    units = units_of(kits, groups, types)
    if units is None:
        return hearing(model, chash)
    if progress:
        print(f"measuring the {len(hashes)} training hits for the memorisation guard (once per model and "
              f"classifier) ...", file=sys.stderr, flush=True)
    from tqdm import tqdm
    chunks = (np.stack([codec.normalise(ws.load_audio(h)).astype(np.float32) for h in hashes[i:i + CHUNK]])
              for i in tqdm(range(0, len(hashes), CHUNK), desc="memorisation guard", unit="chunk", mininterval=1.0,
                            disable=not progress or len(hashes) <= CHUNK))
    guard = build(model, chunks, units, types, chash, GUARD_PERCENTILE)
    try:                                                  # kept for next time where it can be: not in a read-only
        atomic_write_bytes(path, save({"mean": np.asarray(guard.judge.mean, np.float32),      # models/ folder
                                       "axes": np.ascontiguousarray(guard.judge.axes, np.float32),
                                       "train": guard.train},
                                      metadata={"key": json.dumps(key), "threshold": repr(guard.threshold)}))
    except OSError as e:
        if progress:
            print(f"drummy: the memorisation guard cannot be kept in {path.parent} ({e.strerror or e}), so it is "
                  f"measured again on every run", file=sys.stderr, flush=True)
    return guard

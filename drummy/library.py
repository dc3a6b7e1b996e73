"""The sample library of a workspace: ingesting folders and kits, labels, the
content-addressed audio store and the feature cache.

Workspace layout (all written atomically; an interrupted ingest resumes):
    library.json         samples by content hash, the file index, skipped files
    audio/<hash>.wav     the trimmed mono 44.1 kHz float audio of each sample
    features.safetensors log-mels and descriptors, keyed by hash
"""
from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
import re
import shlex
import sys
import time
from collections import Counter
from contextlib import contextmanager
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Iterable

import numpy as np
from safetensors import SafetensorError, safe_open
from safetensors.numpy import load_file, save as save_bytes
from tqdm import tqdm

from . import audio, features
from .kits import KitError, KitSample, file_of_key, is_kit_file, read_hydrogen, read_sfz, sfz_includes, slice_key
from .labels import UNKNOWN, labels_from_names, normalise, type_of

AUDIO_EXTENSIONS = {".wav", ".wave", ".flac", ".aif", ".aiff", ".aifc", ".ogg", ".oga", ".opus", ".mp3",
                    ".caf", ".w64", ".rf64"}    # whatever libsndfile decodes that sample packs ship
DEFAULT_WORKSPACE = Path("drummy-work")


class ModelError(Exception):
    """A missing or unusable model; one line for the user."""


# library.json's format: 2 added each sample's `own` and `copies` labels, 3 its `guess`. A Drummy
# refuses a library written in a newer format rather than drop what it does not know on its next
# save. Bump it whenever Sample gains a field.
LIBRARY_VERSION = 3
_STORE_TEMP = re.compile(r"\.[0-9a-f]{16}\.[a-z0-9_]{8}\.wav")    # a stored copy's temp file (`audio.atomic_write`)


class LibraryError(Exception):
    """A user-facing problem with a workspace or an ingest; one line."""


def shell(path) -> str:
    """A path as a command in a message must give it: quoted where it has a space or a quote
    (`drummy train vae -w 'My Drums'`), so the command can be copied and run as printed."""
    return shlex.quote(str(path))


@dataclass
class Sample:
    """One distinct sound in the library (identical audio is stored once)."""
    hash: str
    path: str                  # the first original path it was found at
    drum_type: str
    tags: list[str]
    kit: str                   # the kit, or the folder root it came from
    group: str                 # unit of the validation split: kit, or folder
    duration: float            # seconds after trimming
    source_rate: int           # Hz of the original file
    predicted: bool = False    # drum_type came from the classifier
    confidence: float | None = None
    also_at: list[str] = field(default_factory=list)
    own: list | None = None    # [type, tags] its own path's names give (None: as drum_type, tags)
    copies: dict[str, list] = field(default_factory=dict)   # [type, tags] each other path's names give
    guess: list | None = None  # [type, confidence] the classifier last heard (`--auto-label`), kept while a name overrides it


@dataclass
class IngestReport:
    added: int = 0
    duplicates: int = 0
    moved: int = 0          # samples found under a new name (their old file gone): relabelled from it
    removed: int = 0        # files gone from a folder ingested again: no longer in the library
    unchanged: int = 0
    repaired: int = 0       # unchanged files whose copy in the store was missing or cut: written again
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (path, reason)


def classifier_path(ws: "Workspace") -> Path:
    """Where a workspace keeps its trained classifier."""
    return ws.root / "models" / "classifier.safetensors"


def vae_path(ws: "Workspace") -> Path:
    """Where a workspace keeps its blend generator."""
    return ws.root / "models" / "vae.safetensors"


PREVIOUS_VAE = "vae.previous.safetensors"   # beside a blend model: the one its training replaced (`train_vae.keep_previous`)


def readable_model(path: Path) -> bool:
    """Whether a safetensors file is there and its header reads: a damaged model is not kept
    in place of a sound one (`train.keep_previous`, `train_vae.keep_previous`)."""
    from safetensors import SafetensorError, safe_open
    try:
        with safe_open(str(path), "pt"):
            return True
    except (SafetensorError, OSError):
        return False


def copy_model(path: Path, to: Path) -> None:
    """A model's .safetensors and its .json record copied to `to`'s names, each atomically."""
    import shutil
    for suffix in (".json", ".safetensors"):
        src = path.with_suffix(suffix)
        if src.exists():
            audio.atomic_write(to.with_suffix(suffix), lambda tmp, src=src: shutil.copyfile(src, tmp))


CACHE_DAMAGE = (SafetensorError, OSError, ValueError, KeyError, IndexError)   # what a cut or foreign cache file raises


def _rebuilding(path: Path) -> None:
    print(f"drummy: {path} is damaged; computing it again", file=sys.stderr)


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write a file so that readers see the old or the new version, never half."""
    audio.atomic_write(path, lambda tmp: Path(tmp).write_bytes(data))


def atomic_write_json(path: Path, obj) -> None:
    text = json.dumps(obj, indent=1, ensure_ascii=False)
    try:
        data = text.encode()
    except UnicodeEncodeError:   # a file name that is not UTF-8 (old zips): escaped, and read back as it was
        data = json.dumps(obj, indent=1).encode()
    atomic_write_bytes(path, data)


def file_hash(path: str | Path, chars: int | None = 16) -> str:
    """sha256 of a file's bytes, hex, cut to `chars` (None: whole)."""
    return bytes_hash(Path(path).read_bytes(), chars)


def bytes_hash(data: bytes, chars: int | None = 16) -> str:
    """`file_hash` of bytes already read."""
    return hashlib.sha256(data).hexdigest()[:chars]


def earlier_run(folder: Path, manifest: str, only: Iterable[str] | None = None) -> tuple[set[str], list[str]]:
    """For a folder a command fills and, run again, replaces as a set (stems, a starter
    kit): the files an earlier run recorded in folder/manifest, and the other files
    there (relative paths, sorted), which the command must refuse to write among. A
    recorded file that has been edited since (its hash differs) is the producer's now,
    and counts among the others. Files an earlier run recorded as written beside its set
    (a beat's mix among its stems) are in neither. `only`: look at these files alone, not the
    whole folder."""
    data = _manifest(folder, manifest)
    ours, beside, hashes = set(data["files"]), set(data["beside"]), data["hashes"]
    edited = {r for r in ours if r in hashes and (folder / r).is_file() and file_hash(folder / r) != hashes[r]}
    ours -= edited
    if only is not None:        # the names the command writes, where the folder may be big (`evaluate -o ~/Documents`)
        present = {r for r in only if (folder / r).is_file()}
    else:
        present = {str(f.relative_to(folder)) for f in folder.rglob("*") if f.is_file()} if folder.is_dir() else set()
    return ours, sorted(present - ours - beside - {manifest, ".DS_Store"})


@contextmanager
def claim(*paths: str | Path | None, wait: float = 0.0):
    """Hold output paths (files or folders) for this process while it writes them. Two
    `beat` or `export-kit` commands at once into the same outputs both reported success
    and left a mix of the two; now the second is told to wait. The locks live in the temp
    folder, keyed by the resolved path, so nothing is left beside a producer's files; the
    system drops them when the process ends, however it ends, and a finished command
    removes its lock files. With `wait`, a held path is waited for up to that many seconds
    (`generate`'s writing takes moments, after minutes of work that a refusal would throw away)."""
    import fcntl
    import tempfile
    root = Path(tempfile.gettempdir()) / f"drummy-locks-{os.getuid()}"
    root.mkdir(exist_ok=True)
    held = []

    def take(lock: Path):
        for _ in range(5):
            f = open(lock, "a")
            try:
                fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                f.close()
                return None
            try:                          # still the file at that name: not one a finished holder removed
                if os.stat(lock).st_ino == os.fstat(f.fileno()).st_ino:
                    return f
            except FileNotFoundError:
                pass
            f.close()
        return None

    try:
        for p in sorted({str(Path(p).resolve()) for p in paths if p is not None}):
            lock = root / hashlib.sha1(p.encode("utf-8", "surrogateescape")).hexdigest()
            f, until = take(lock), time.monotonic() + wait
            if f is None and wait > 0:
                print(f"drummy: waiting for another drummy command writing {p} ...", file=sys.stderr, flush=True)
            while f is None and time.monotonic() < until:
                time.sleep(0.2)
                f = take(lock)
            if f is None:
                raise LibraryError(f"{p} is being written by another drummy command; run this one again "
                                   "when that has finished")
            held.append((lock, f))
        yield
    finally:
        for lock, f in held:              # removed while still held, so no lock file is left behind
            lock.unlink(missing_ok=True)
            f.close()


def inside(folder: Path, paths: Iterable[str | Path]) -> set[str]:
    """The paths that lie in folder, relative to it."""
    base = Path(folder).resolve()
    return {str(Path(p).resolve().relative_to(base)) for p in paths if Path(p).resolve().is_relative_to(base)}


def read_manifest(folder: Path, manifest: str) -> dict | None:
    """A run manifest's files, beside files and hashes; None when it is missing or damaged."""
    try:
        data = json.loads((folder / manifest).read_text())
        return {"files": list(data["files"]), "beside": list(data.get("beside", [])),
                "hashes": dict(data.get("hashes", {}))}
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None


def _manifest(folder: Path, manifest: str) -> dict:
    """`read_manifest`, with empty lists for a missing or damaged one."""
    return read_manifest(folder, manifest) or {"files": [], "beside": [], "hashes": {}}


def _beside(folder: Path, manifest: str, beside: Iterable[str | Path]) -> set[str]:
    return inside(folder, beside) | {b for b in _manifest(folder, manifest)["beside"] if (folder / b).exists()}


def plan_run(folder: Path, manifest: str, planned: Iterable[Path], before: set[str],
             beside: Iterable[str | Path] = ()) -> None:
    """Before a run writes its set: record its files beside the earlier run's, so that a
    run stopped half-way leaves nothing the same command, run again, takes for a stranger's."""
    now = {str(Path(f).relative_to(folder)) for f in planned}
    audio.make_folder(folder)
    atomic_write_json(folder / manifest, {"files": sorted(before | now),
                                          "beside": sorted(_beside(folder, manifest, beside) - now - before),
                                          "hashes": {r: h for r, h in _manifest(folder, manifest)["hashes"].items() if r in before - now}})


def record_run(folder: Path, manifest: str, written: Iterable[Path], before: set[str],
               beside: Iterable[str | Path] = ()) -> None:
    """Record this run's files in folder/manifest and remove the earlier run's files
    (`before`) it did not write again. `beside` are files the run wrote in the folder
    that are not part of the set: recorded (so no later run takes them for a stranger's)
    and never removed."""
    now = {str(Path(f).relative_to(folder)) for f in written}
    mine = _beside(folder, manifest, beside)
    atomic_write_json(folder / manifest, {"files": sorted(now), "beside": sorted(mine - now),
                                          "hashes": {r: file_hash(folder / r) for r in sorted(now)}})
    for rel in before - now - mine:
        (folder / rel).unlink(missing_ok=True)


class Workspace:
    """A folder holding one library, its features and its models."""

    def __init__(self, root: str | Path = DEFAULT_WORKSPACE):
        self.root = Path(root)
        self._lock_fd: int | None = None      # the workspace's lock while `writing` holds it
        if self.root.exists() and not self.root.is_dir():     # every command says so, not "run ingest first"
            raise LibraryError(f"workspace {self.root} is a file; -w names a folder (new or one Drummy made)")
        self._load()

    def _load(self) -> None:
        self.samples: dict[str, Sample] = {}
        self.files: dict[str, dict] = {}  # original path -> {size, mtime, hash | reason[, via_link]}
        self.links: dict[str, list[str]] = {}  # folder reached through a link -> the folders ingested that reached it
        if self.manifest_path.exists():
            try:
                data = json.loads(self.manifest_path.read_text())
                version = data.get("version", 1)
                if isinstance(version, int) and version > LIBRARY_VERSION:
                    raise LibraryError(f"{self.manifest_path} was written by a newer Drummy (library format {version}; "
                                       f"this one reads up to {LIBRARY_VERSION}); update Drummy, or use another workspace")
                self.samples = {h: Sample(**s) for h, s in data["samples"].items()}
                self.files = data["files"]
                self.links = dict(data.get("links", {}))
                if not isinstance(self.files, dict):                  # an edited file: checked here, not met later
                    raise TypeError(f"its files are a {type(self.files).__name__}, not a table")
            except (ValueError, KeyError, TypeError, AttributeError) as e:
                # the models and generated hits do not depend on it: the library alone is read again
                raise LibraryError(f"{self.manifest_path} is damaged ({e}); delete that file and ingest your "
                                   "folders again (trained models and generated hits are kept)")
        self._features: dict[str, np.ndarray] | None = None
        self._features_changed = False          # since read or written: an ingest with nothing new writes none

    @property
    def manifest_path(self) -> Path:
        return self.root / "library.json"

    @property
    def features_path(self) -> Path:
        return self.root / "features.safetensors"

    def audio_path(self, h: str) -> Path:
        return self.root / "audio" / f"{h}.wav"

    def in_store(self, path: str | Path) -> bool:
        """Whether a path lies in the workspace's sample store (audio/): Drummy's copies,
        never a place to write hits to or to ingest from."""
        return Path(path).resolve().is_relative_to((self.root / "audio").resolve())

    def ensure_writable(self) -> None:
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            probe = self.root / f".write-test-{os.getpid()}"    # its own: another command's probe is not this one's
            probe.write_bytes(b"")
            probe.unlink()
        except OSError as e:
            raise LibraryError(f"workspace {self.root} is not writable ({e.strerror})") from None

    @contextmanager
    def writing(self):
        """Hold the workspace for this process while it changes the library, reading it
        afresh first. Two ingests at once each saved the library as they had read it, and
        the second one lost the first one's samples; now the second is told to wait. Held
        already (`ingest --auto-label`'s two steps under one hold), it is held on."""
        import fcntl
        if self._lock_fd is not None:
            yield
            return
        names = {p.name for p in self.root.iterdir()} if self.root.is_dir() else set()
        theirs = sorted(n for n in names - _OWN_NAMES if not n.startswith("."))
        if theirs and not names & _OWN_NAMES:   # (one whose library.json is gone, as a damaged one is told: its own)
            raise LibraryError(f"workspace {self.root} is a folder of other files ({', '.join(theirs[:3])}"
                               f"{' …' if len(theirs) > 3 else ''}), not one Drummy made: its copies and models would "
                               f"go among them; -w names a new folder or a workspace")
        self.ensure_writable()
        with open(self.root / ".lock", "a+") as f:
            try:
                fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise LibraryError(f"workspace {self.root} is busy: {_holder(f)} is working on it; run this one "
                                   "again when that has finished") from None
            _hold(f)
            self._load()                                  # what that other command saved
            self._lock_fd = f.fileno()                    # ingest's workers close their copy (`_worker`)
            try:
                yield
            finally:
                self._lock_fd = None

    def save(self) -> None:
        atomic_write_json(self.manifest_path, {
            "version": LIBRARY_VERSION,
            "samples": {h: asdict(s) for h, s in self.samples.items()},
            "files": self.files,
            "links": self.links,
        })

    @property
    def skipped(self) -> list[tuple[str, str]]:
        return [(p, f["reason"]) for p, f in sorted(self.files.items()) if f.get("reason")]

    def require_samples(self) -> list[Sample]:
        """Every sample, by content hash: a model trained on a library does not depend on
        the order its files were ingested in, over one run or many."""
        if not self.samples:
            raise LibraryError(f"the library in {self.root} is empty; run `drummy ingest FOLDER -w {shell(self.root)}` first")
        return [self.samples[h] for h in sorted(self.samples)]

    def load_audio(self, h: str) -> np.ndarray:
        """A sample's stored audio; an error names the store's copy and the file it came from."""
        s = self.samples.get(h)
        came = f" of {s.path} (`drummy ingest` that file again to repair it)" if s else ""
        try:
            return audio.load(self.audio_path(h), trim=False)
        except audio.AudioError as e:
            raise audio.AudioError(f"the workspace's copy{came} is damaged: {self.audio_path(h)}: {e}") from None

    def stored(self, h: str) -> bool:
        """Whether the store holds a whole copy of sample h: one deleted or cut short (a
        full disk, a sync tool) is written again by the next ingest of its file."""
        import soundfile as sf
        try:
            return abs(sf.info(str(self.audio_path(h))).frames - self.samples[h].duration * audio.SR) <= 3
        except (sf.LibsndfileError, OSError, KeyError):
            return False

    # --- features -----------------------------------------------------------------
    def _load_features(self) -> dict[str, np.ndarray]:
        if self._features is None:
            self._features = {}
            if self.features_path.exists():
                try:
                    raw = load_file(str(self.features_path))
                    with safe_open(str(self.features_path), "np") as f:  # hashes in row order
                        meta = f.metadata() or {}
                    if json.loads(meta.get("mel_config", "{}")) == features.MEL.to_dict():
                        for i, h in enumerate(json.loads(meta["hashes"])):
                            self._features[h] = (raw["mel"][i], raw["desc"][i])
                    else:                                 # of an older mel config: written again
                        self._features_changed = True
                except CACHE_DAMAGE:
                    _rebuilding(self.features_path)
                    self._features = {}
                    self._features_changed = True         # written again, whole, by this command
        return self._features

    def _save_features(self) -> None:
        feats = self._load_features()
        if not self._features_changed:         # (6,000 samples' cache is 135 MB: every ingest wrote it again)
            return
        hashes = sorted(feats)
        mel = np.stack([feats[h][0] for h in hashes]) if hashes else np.zeros((0, features.MEL.n_mels, features.MEL.frames), np.float32)
        desc = np.stack([feats[h][1] for h in hashes]) if hashes else np.zeros((0, len(features.DESCRIPTORS)), np.float32)
        # made in memory, then written: safetensors' own file writer raised its own error
        # type on a full disk, not an OSError, and the CLI showed a traceback
        atomic_write_bytes(self.features_path, save_bytes({"mel": mel, "desc": desc}, metadata={
            "hashes": json.dumps(hashes),
            "mel_config": json.dumps(features.MEL.to_dict()),
            "descriptors": json.dumps(list(features.DESCRIPTORS)),
        }))
        self._features_changed = False

    def features(self, hashes: Iterable[str] | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(log-mels (N, n_mels, frames), descriptors (N, D)) for the given samples
        (all, sorted by hash, by default); computes and caches what is missing."""
        feats = self._load_features()
        hashes = sorted(self.samples) if hashes is None else list(hashes)
        missing = [h for h in hashes if h not in feats]
        for h in tqdm(missing, desc="features", unit="hit", mininterval=1.0, disable=len(missing) < 50):
            y = self.load_audio(h)
            feats[h] = (features.log_mel(y), features.descriptors(y))
            self._features_changed = True
        if missing:
            self._save_features()
        if not hashes:
            return (np.zeros((0, features.MEL.n_mels, features.MEL.frames), np.float32),
                    np.zeros((0, len(features.DESCRIPTORS)), np.float32))
        return np.stack([feats[h][0] for h in hashes]), np.stack([feats[h][1] for h in hashes])

    # --- generator codes --------------------------------------------------------------
    @property
    def codes_path(self) -> Path:
        return self.root / "codes.safetensors"

    def codes(self, hashes: Iterable[str], progress: bool = True) -> tuple[np.ndarray, np.ndarray]:
        """(sines+noise codes (N, channels, frames) float16, raw controls (N, len(vae.CONTROLS)))
        of the given samples, for the blend generator; computed once and cached in
        codes.safetensors (float16), which is rebuilt when the codec changes."""
        from . import codec
        from .vae import controls
        hashes = list(hashes)
        cfg = json.dumps(codec.CODEC.to_dict())
        cache: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        if self.codes_path.exists():
            try:
                with safe_open(str(self.codes_path), "np") as f:
                    meta = f.metadata() or {}
                    if meta.get("codec") == cfg:
                        code, ctl = f.get_tensor("code"), f.get_tensor("controls")
                        cache = {h: (code[i], ctl[i]) for i, h in enumerate(json.loads(meta["hashes"]))}
            except CACHE_DAMAGE:
                _rebuilding(self.codes_path)
                cache = {}
        missing = [h for h in dict.fromkeys(hashes) if h not in cache]
        if missing:
            self.ensure_writable()  # the cache is saved as it grows: say so now, not after the analysis
        def save() -> None:
            keys = sorted(cache)
            atomic_write_bytes(self.codes_path, save_bytes(
                {"code": np.stack([cache[k][0] for k in keys]), "controls": np.stack([cache[k][1] for k in keys])},
                metadata={"hashes": json.dumps(keys), "codec": cfg}))
        done, saved = 0, time.monotonic()       # kept every SAVE_SECONDS: the cache is written whole each time
        try:
            for h in tqdm(missing, desc="analyse hits", unit="hit", mininterval=1.0,
                          disable=not progress or len(missing) < 50):
                x = codec.normalise(self.load_audio(h))
                c = codec.analyse(x)
                cache[h] = (c.astype(np.float16), controls(x, c).astype(np.float32))
                done += 1
                if time.monotonic() - saved > SAVE_SECONDS:
                    save()
                    done, saved = 0, time.monotonic()
        except KeyboardInterrupt:      # Ctrl-C: what was analysed is kept for the next run
            if done:
                save()
            raise
        if done:
            save()
        if not hashes:
            return (np.zeros((0, codec.CODEC.channels, codec.CODEC.frames), np.float16), np.zeros((0, 4), np.float32))
        return np.stack([cache[h][0] for h in hashes]), np.stack([cache[h][1] for h in hashes])   # codes float16, as kept

    # --- ingest -------------------------------------------------------------------
    def ingest(self, paths: Iterable[str | Path], progress: bool = True,
               save_every: int = 200, jobs: int | None = None) -> IngestReport:
        """`_ingest`, holding the workspace (`writing`)."""
        paths = list(paths)
        for p in paths:                  # before the lock makes the workspace's folder
            if not Path(p).exists() and not Path(p).is_symlink():
                raise LibraryError(f"no such file or folder: {p}")
            if self.in_store(p):         # (it read "added 0, skipped 0", saying nothing)
                raise LibraryError(f"{p} is this workspace's sample store: Drummy's own copies of the samples "
                                   f"already in it; ingest the folders they came from")
            real = Path(p).resolve()
            other = workspace_of(real if real.is_dir() else real.parent, {})
            if other is not None and real.is_relative_to(other / "audio"):    # another's: passed over, unsaid
                raise LibraryError(f"{p} is the sample store of the Drummy workspace {other}: its copies of the "
                                   f"samples in that library; ingest the folders they came from")
            if Path(p).resolve() == self.root.resolve() and self.manifest_path.exists():   # (it added its generated hits to the
                raise LibraryError(f"{p} is the workspace itself, not a folder of samples: give the sample "  # library, unsaid)
                                   f"folders to add (to learn from its generated hits too, ingest "
                                   f"{shell(self.root / 'generated')})")
        with self.writing():
            for tmp in (self.root / "audio").glob(".*.wav"):   # a copy being written when a kill -9 came
                if _STORE_TEMP.fullmatch(tmp.name):              # (`audio.atomic_write`'s; only ingest writes here)
                    tmp.unlink(missing_ok=True)
            return self._ingest(paths, progress, save_every, jobs)

    def _ingest(self, paths: Iterable[str | Path], progress: bool = True,
                save_every: int = 200, jobs: int | None = None) -> IngestReport:
        """Add every audio file under `paths` (folders of any depth, single files,
        Hydrogen drumkit.xml, .sfz) to the library. Broken files are skipped with a
        reason; unchanged files are not decoded again; features are cached.
        Decoding and features run in `jobs` processes (default: all cores)."""
        report = IngestReport()
        todo: list[tuple[_Job, dict, str | None, bool]] = []    # (job, file stamp, the hash it had before,
        #                                                     whether only older decode rules send it back)
        unchanged: list[tuple[Sample, str, _Job]] = []
        kits_read: list[Path] = []
        linked: list[Path] = []                          # folders reached through links: their files can go too
        dangling: list[str] = []                         # and the files that dangling links pointed at
        region_skips: dict[str, str] = {}                # a kit's region it could not read -> the kit
        found = collect(paths, report.skipped, kits_read, linked, dangling, region_skips=region_skips)
        known: dict = {}
        taken = [j for j in found if self._takes_in(j.path, paths, known)]
        own = self.root.resolve()                        # another workspace passed over is said, once: a folder of
        for other in sorted({known.get(j.path.parent.resolve()) for j in found if j not in taken} - {None, own}):
            report.skipped.append((str(other), OTHER_WORKSPACE))    # a producer's laid out so would go unsaid
        found = taken
        for key, reason in report.skipped:              # kit files that cannot be read, dangling links: `library` lists them
            self.files[key] = {"reason": reason, **({"kits": [region_skips[key]]} if key in region_skips else {})}
        for kf in kits_read:                             # ... until they can
            if self.files.get(str(kf), {}).get("reason"):
                del self.files[str(kf)]
        for job in found:
            key = job.key
            try:
                st = job.path.stat()
            except OSError as e:
                why = f"cannot read ({e.strerror})"
                if isinstance(e, FileNotFoundError) and job.kits:     # a kit names a file it does not have
                    why = f"not there, though {' and '.join(sorted({Path(k).name for k in job.kits}))} names it"
                report.skipped.append((key, why))
                self.files[key] = {"reason": why, **job.kit_entry}
                continue
            stamp = {"size": st.st_size, "mtime": st.st_mtime_ns, **job.kit_entry}
            old = self.files.get(key)
            same = bool(old) and old.get("size") == stamp["size"] and old.get("mtime") == stamp["mtime"]
            rules = same and old.get("hash") in self.samples and old.get("decode", 1) != DECODE_RULES
            if same and not rules and (_lasting(old) or old.get("hash") in self.samples and self.stored(old["hash"])):
                if old.get("reason"):                     # still broken: reported as skipped, not unchanged
                    report.skipped.append((key, old["reason"]))
                else:
                    report.unchanged += 1
                    unchanged.append((self.samples[old["hash"]], key, job))
                continue
            # (decoded by older rules: once more, by today's, keeping its sample: `_rehash`)
            todo.append((job, stamp, old.get("hash") if old else None, rules))   # forgotten once decoded, if changed

        for s, key, job in sorted(unchanged, key=lambda u: u[0].path != u[1]):   # each sample's own file first,
            if s.path == key:                                                   # then its copies add to it
                self._relabel(s, key, job)
            else:
                _add_copy_labels(s, key, job)
        feats = self._load_features()
        jobs = jobs or os.cpu_count() or 1
        # Forked on Linux, as Python 3.11 does by default (3.14 starts workers from a fork server):
        # `_worker` closes the lock the fork copied, and dies with this process. Elsewhere the
        # workers inherit neither, and the platform's default stands.
        fork = sys.platform.startswith("linux")
        pooled, pool, dirty, saved = jobs > 1 and len(todo) >= 16, None, 0, time.monotonic()
        try:
            if pooled:   # librosa's numba code compiled here, once: forked workers inherit it, others read the cache
                features.warm_up()
                pool = ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("fork") if fork else None,
                                           initializer=_worker,
                                           initargs=(os.getpid(), self._lock_fd) if fork else (None, None))
            work = [(j.path, not j.group.startswith("kit:"), j.start, j.end) for j, _, _, _ in todo]
            results = pool.map(_decode_job, work, chunksize=4) if pool else map(_decode_job, work)
            for (job, stamp, was, rules), res in tqdm(zip(todo, results), total=len(todo), desc="ingest",
                                                      unit="file", mininterval=1.0, disable=not progress or len(todo) < 20):
                key = job.key
                if rules and not isinstance(res, str) and res[2] != was and res[2] not in self.samples:
                    self._rehash(was, res, feats)        # the same file, decoded by today's rules: the same sample
                    self.files[key] = {**stamp, "hash": res[2], "decode": DECODE_RULES}
                    report.unchanged += 1
                    continue
                if was and (isinstance(res, str) or res[2] != was):   # its sound changed: the old one goes
                    self._forget_path(key, was)                       # (only touched: it keeps its labels)
                if isinstance(res, str):
                    report.skipped.append((key, res))
                    self.files[key] = {**stamp, "reason": res, "rules": SKIP_RULES}
                    continue
                y, rate, h, mel, desc = res
                self.files[key] = {**stamp, "hash": h, "decode": DECODE_RULES}
                repaired = h in self.samples and not self.stored(h)
                if repaired:
                    self._store(h, y, mel, desc, feats)
                    report.repaired += 1
                if h in self.samples:
                    s = self.samples[h]
                    if key != s.path and not Path(file_of_key(s.path)).exists():   # moved or renamed: by its new name
                        self.files.pop(s.path, None)
                        s.also_at = [p for p in s.also_at if p != key]
                        s.copies.pop(key, None)
                        s.path = key
                        self._relabel(s, key, job, moved=True)
                        report.moved += 1
                        continue
                    if key == s.path:                 # its own file, rewritten with the same sound (or only touched)
                        self._relabel(s, key, job)
                        report.unchanged += not repaired
                        continue
                    gone = None if key in s.also_at else \
                        next((p for p in s.also_at if not Path(file_of_key(p)).exists()), None)
                    if gone is not None:              # a copy moved or renamed: it goes by its new name
                        self.files.pop(gone, None)
                        s.also_at[s.also_at.index(gone)] = key
                        s.copies.pop(gone, None)
                        report.moved += 1
                    elif key not in s.also_at:
                        s.also_at.append(key)
                        report.duplicates += 1
                    else:                             # a known copy read again (touched, or its sound repaired)
                        report.unchanged += not repaired
                    _add_copy_labels(s, key, job)
                    continue
                self._store(h, y, mel, desc, feats)
                self.samples[h] = Sample(h, key, job.drum_type, job.tags, job.kit, job.group,
                                         round(len(y) / audio.SR, 4), int(rate), own=[job.drum_type, job.tags])
                report.added += 1
                dirty += 1
                # an interrupted ingest resumes from here: the library saved every `save_every` samples, the
                # features cache, written whole (6,000 samples' every 200: 3.4 GB written), every SAVE_SECONDS
                # (what it lacks, `features` works out again)
                if time.monotonic() - saved > SAVE_SECONDS:
                    self._save_all()
                    dirty, saved = 0, time.monotonic()
                elif dirty >= save_every:
                    self.save()
                    dirty = 0
            direct = [str(Path(p).resolve()) for p in paths]
            for job in found:          # a file found only through a link goes when the link does (`_forget_gone`)
                entry, key = self.files.get(job.key), job.key
                if entry is not None:
                    if any(key == d or key.startswith(d + "/") for d in direct):
                        entry.pop("via_link", None)
                    else:
                        entry["via_link"] = True
            report.removed = self._forget_gone(paths, {j.key for j in found} | {k for k, _ in report.skipped},
                                               linked, dangling, kits_read,
                                               {**{k: {kit} for k, kit in region_skips.items()},
                                                **{j.key: set(j.kits) for j in found if j.kits}})
        except BrokenProcessPool:
            raise LibraryError(f"a worker decoding the files died (a crash in a decoder); the {report.added} samples "
                               f"added so far are kept: run the same ingest again to go on") from None
        finally:
            # A second Ctrl-C waits for this: it broke into the pool's shutdown, nothing
            # was saved though the message said so, and the ingest hung for good.
            with audio.interrupts_held():
                if pool:
                    if getattr(pool, "_broken", False):   # a worker died: Python 3.11's shutdown then waits for
                        for proc in list((getattr(pool, "_processes", None) or {}).values()):   # the others,
                            proc.kill()                   # blocked sending results no one reads, for good
                    pool.shutdown(cancel_futures=True)
                self._save_all()
        return report

    def _store(self, h: str, y: np.ndarray, mel: np.ndarray, desc: np.ndarray, feats: dict) -> None:
        """Write sample h's copy into the store (float, as decoded) and its features into feats."""
        audio.write(self.audio_path(h), y, peak_db=None, fade_ms=0, subtype="FLOAT")
        feats[h] = (mel, desc)
        self._features_changed = True

    def _rehash(self, was: str, res: tuple, feats: dict) -> None:
        """Sample `was`, decoded again by today's rules (`DECODE_RULES`) into another sound `res`
        (`_decode_job`: a DC offset taken out), goes by its new hash with its labels, predicted ones
        too, and its files: an upgrade's ingest read it as a new sample, its label lost."""
        y, _, h, mel, desc = res
        s = self.samples.pop(was)
        s.hash, s.duration = h, round(len(y) / audio.SR, 4)
        self.samples[h] = s
        self._store(h, y, mel, desc, feats)
        feats.pop(was, None)
        self.audio_path(was).unlink(missing_ok=True)
        for k in (s.path, *s.also_at):                  # its copies' records, decoded later in this run or not
            if self.files.get(k, {}).get("hash") == was:
                self.files[k]["hash"] = h

    def _save_all(self) -> None:
        """The library, then the features cache. In that order: on a full disk the features
        failed first, and the library, with every sample read so far, was never saved
        (the store's copies are there; features missing from the cache are worked out again)."""
        self.save()
        self._save_features()

    def _relabel(self, s: Sample, key: str, job: _Job, moved: bool = False) -> None:
        """Labels come from names, so an unchanged file still gets today's labelling
        rules. A name that gives no type keeps the type the sample has (ingesting a
        sub-folder of a library must not wipe what its parent gave), and changes its
        tags, kit and group only where the old name is gone: a move, a renamed kit."""
        if s.path != key:
            return
        before = _root(s.path, s.group)
        if not moved and before != Path() and before in _root(key, job.group).parents:
            return       # labelled from a folder above the one ingested now ("lib", now "lib/Acoustic/Kicks"): keeps them
        own_type = _own(s)[0]
        if job.drum_type == UNKNOWN:
            if moved or job.group.startswith("kit:"):   # its old name is gone, or its kit was renamed: the type stays
                s.own, s.kit, s.group = [own_type, job.tags], job.kit, job.group
        else:
            s.own, s.kit, s.group = [job.drum_type, job.tags], job.kit, job.group
        _merge_labels(s)

    def _takes_in(self, path: Path, paths: Iterable[str | Path], found: dict | None = None) -> bool:
        """Whether a file found under `paths` is a sample for this library. A workspace's
        stored copies (audio/), this one's or another's (`workspace_of`), never are. Its other
        files (generated hits) are when a path asked for lies in that workspace (`ingest
        work/generated`: the producer means them), not when the workspace sits in a folder
        asked for: a workspace kept among the samples gave its copies to the library again, as
        new unlabelled near-duplicates. found: `workspace_of`'s answers so far, by folder."""
        own = self.root.resolve()
        if own not in path.parents:
            own = workspace_of(path.parent, {} if found is None else found)
            if own is None:
                return True
        if path.is_relative_to(own / "audio"):
            return False
        asked = [Path(p).resolve() for p in paths]
        return any((a == own or own in a.parents) and (a == path or a in path.parents) for a in asked)

    def _forget_gone(self, paths: Iterable[str | Path], seen: set[str], linked: Iterable[Path] = (),
                     dangling: Iterable[str] = (), kits_read: Iterable[Path] = (),
                     plays: dict[str, set[str]] | None = None) -> int:
        """Forget the files recorded under the folders in `paths` that are no longer
        there (deleted by the user), or that are the workspace's stored copies: the
        library follows the folder. Files moved
        elsewhere under them were already followed to their new name. Returns how
        many samples' files went. `linked`: the real folders that links under them led to
        (or a dangling link's target was in). A folder that links under them led to before
        and none does now (the link removed) takes with it the files found only through it.
        A slice of a file (an SFZ region's) goes with its regions: when none of the kit files
        that played it does any more, read (`kits_read`; `plays`: slice key -> the kits that play
        it now), or gone from the folders ingested; not while its kit cannot be read. A
        file under them recorded whole goes when a kit plays only slices of it now."""
        asked = {str(Path(p).resolve()) for p in paths if Path(p).is_dir()}
        now = {str(p) for p in linked}
        unlinked = []
        for target, via in list(self.links.items()):
            if target in now or not asked & set(via):
                continue
            if set(via) - asked:                       # another folder ingested before still reaches it
                self.links[target] = sorted(set(via) - asked)
            else:
                del self.links[target]
                unlinked.append(target + "/")
        for target in now:
            self.links[target] = sorted(set(self.links.get(target, [])) | asked)
        roots = [r + "/" for r in asked] + [str(p) + "/" for p in linked]
        copies = str(self.root.resolve() / "audio") + "/"   # its stored copies, taken in before that was refused
        read, plays = {str(k) for k in kits_read}, plays or {}
        gone = []
        for k, f in self.files.items():           # a slice goes when none of the kits that played it still does
            if "kits" in f:
                kits = (set(f["kits"]) - read) | plays.get(k, set())
                kits = {x for x in kits if os.path.lexists(x) or not any(x.startswith(r) for r in roots)}
                if kits:
                    f["kits"] = sorted(kits)
                else:
                    gone.append(k)
        gone += [k for k, f in self.files.items() if k not in seen and "kits" not in f
                 and any(k.startswith(r) for r in roots)
                 and (not os.path.lexists(k) or k.startswith(copies) or "hash" not in f)]   # (a skip
        # not met again, such as a folder that can be read now, is no longer one)
        gone += [k for k in dict.fromkeys(dangling) if k in self.files and k not in gone and not os.path.lexists(k)]
        # a file under these folders that a kit now plays as slices, and nothing plays whole: the whole file
        # recorded before goes (not one outside them, another kit's or folder's to keep)
        sliced = {file_of_key(k) for k in seen} - seen
        gone += [k for k in self.files if k in sliced and k not in gone and any(k.startswith(r) for r in roots)]
        gone += [k for k, f in self.files.items() if f.get("via_link") and k not in seen and k not in gone
                 and any(k.startswith(u) for u in unlinked)]
        removed = 0
        for key in gone:
            h = self.files.pop(key).get("hash")
            if h in self.samples:
                self._forget_path(key, h)
                removed += 1
        return removed

    def _forget_path(self, key: str, h: str) -> None:
        s = self.samples.get(h)
        if s is None:
            return
        if s.path == key:
            if s.also_at:
                s.path = s.also_at.pop(0)
                s.own = s.copies.pop(s.path, None) or _own(s)     # it goes by its copy's names now
            else:
                del self.samples[h]
                return
        elif key in s.also_at:
            s.also_at.remove(key)
        s.copies.pop(key, None)
        _merge_labels(s)

    # --- summaries ----------------------------------------------------------------
    def summary(self) -> dict:
        """Counts of drum types and tags, and the skipped files, as plain data."""
        samples = list(self.samples.values())
        return {
            "workspace": str(self.root),
            "samples": len(samples),
            "types": dict(Counter(s.drum_type for s in samples).most_common()),
            "tags": dict(Counter(t for s in samples for t in s.tags).most_common()),
            "predicted": sum(s.predicted for s in samples),
            "copies": sum(len(s.also_at) for s in samples),
            "skipped": [{"path": p, "reason": r} for p, r in self.skipped],
            "items": [{"path": s.path, "hash": s.hash, "type": s.drum_type, "tags": s.tags,
                       "kit": s.kit, "duration": s.duration, "predicted": s.predicted,
                       "confidence": s.confidence, "also_at": s.also_at}
                      for s in sorted(samples, key=lambda s: s.path)],
        }


def _root(path: str | Path, group: str) -> Path:
    """The folder a loose file was labelled from (its group is that folder's name and the
    folders below it); a kit's samples have none (an empty path)."""
    parents = Path(path).parents
    depth = len(group.split("/")) - 1
    if group.startswith("kit:") or depth >= len(parents):   # a linked file's path is its target's, not as deep
        return Path()
    return parents[depth]


def _add_copy_labels(s: Sample, key: str, job: "_Job") -> None:
    """The same audio found at another path `key`: what its names give is kept with the
    sample (and goes when that file does)."""
    old = s.copies.get(key)
    if not (old and old[0] != UNKNOWN and job.drum_type == UNKNOWN):   # its sub-folder ingested alone says less
        s.copies[key] = [job.drum_type, job.tags]
    _merge_labels(s)


def _own(s: Sample) -> list:
    """[type, tags] the sample's own path gives; for a library saved before they were kept,
    the labels it has (a prediction is no name's)."""
    return s.own or [UNKNOWN if s.predicted else s.drum_type, list(s.tags)]


def _merge_labels(s: Sample) -> None:
    """A sample's labels: its own path's, then what its copies' paths add: a type where its
    own names give none, and their tags (a kick also filed under "boom bap" is a boom bap
    kick). A type the classifier predicted stays, or comes back, where no name gives one."""
    s.own = _own(s)
    drum_type, tags = s.own[0], list(s.own[1])
    for t, more in s.copies.values():
        drum_type = t if drum_type == UNKNOWN else drum_type
        tags += [x for x in more if x not in tags]
    if drum_type != UNKNOWN:
        s.drum_type, s.predicted, s.confidence = drum_type, False, None
    elif s.guess:                     # the name that overrode a prediction has gone: the prediction is back
        s.drum_type, s.predicted, s.confidence = s.guess[0], True, s.guess[1]
    elif not s.predicted:
        s.drum_type = UNKNOWN
    s.tags = tags


@dataclass
class _Job:
    path: Path
    drum_type: str
    tags: list[str]
    kit: str
    group: str
    velocity: tuple[float, float] | None = None   # a kit sample's velocity layer (see KitSample)
    instrument: str = ""                           # a kit sample's instrument, note and level (see KitSample)
    note: int | None = None
    gain: float = 1.0
    pan: float = 0.0
    start: int = 0                                 # a kit sample's slice of its file (see KitSample)
    end: int | None = None
    kits: list[str] = field(default_factory=list)  # the kit files (resolved) that play it

    @property
    def key(self) -> str:
        """What the library records it under: its path, and a slice's frames (`slice_key`)."""
        return slice_key(self.path, self.start, self.end)

    @property
    def kit_entry(self) -> dict:
        """What a slice's record adds: its kit file, whose regions say when it is gone (`_forget_gone`).
        A whole file's record is as it always was."""
        return {"kits": sorted(set(self.kits))} if self.key != str(self.path) else {}


def collect(paths: Iterable[str | Path], skipped: list[tuple[str, str]] | None = None,
            kits_read: list[Path] | None = None, linked: list[Path] | None = None,
            dangling: list[str] | None = None, regions: bool = False,
            region_skips: dict[str, str] | None = None) -> list[_Job]:
    """Every audio file under `paths`, labelled. Files a kit file (drumkit.xml, .sfz)
    points at take the kit's labels; the rest are labelled from their path below
    the root they were found under. A kit file that cannot be read is added to
    `skipped` as (path, reason) and its audio files are labelled by their paths
    instead; without a `skipped` list it is an error. The kit files read are added
    to `kits_read`, if given. Each slice of a file a kit plays (SFZ offset=/end=) is a job
    of its own; a region whose slice cannot be read goes to `skipped` (and, with `region_skips`,
    its key to its kit file there). With `regions`, a file
    (or slice) a kit plays in several velocity layers or at several levels is a job for each
    (what a beat plays); else one (a sound, for the library)."""
    jobs: dict = {}
    in_kits: set[Path] = set()

    def kit_job(ks: KitSample, kit_file: Path) -> None:
        job = _kit_job(ks, kit_file)
        kept = jobs.setdefault((job.key, ks.velocity, ks.gain, ks.pan) if regions else job.key, job)
        if kept is not job:                        # another kit plays it too
            kept.kits += job.kits
        in_kits.add(ks.path.resolve())

    def read_kit(path: Path) -> list[KitSample]:
        try:
            before = len(skipped) if skipped is not None else 0
            out = read_hydrogen(path) if path.name == "drumkit.xml" else read_sfz(path, skipped)
            if region_skips is not None and skipped is not None:     # its regions it could not read
                region_skips.update((key, str(path.resolve())) for key, _ in skipped[before:])
            if kits_read is not None:
                kits_read.append(path.resolve())
            return out
        except KitError as e:
            if skipped is None:
                raise LibraryError(str(e)) from None
            skipped.append((str(path.resolve()), str(e).removeprefix(f"{path}: ")))
            return []

    for p in paths:
        p = Path(p)
        if not p.exists():
            raise LibraryError(f"no such file or folder: {p}")
        if p.is_file() and is_kit_file(p):
            for ks in read_kit(p):
                kit_job(ks, p)
            continue
        if p.is_file() and _archive(p) and skipped is not None:
            skipped.append((str(p.resolve()), ARCHIVE))
            continue
        if p.is_file():
            folders = _folder_names(Path(os.path.abspath(p)).parent)
            if _says_loop([*folders, p.stem]) and skipped is not None:
                skipped.append((str(p.resolve()), LOOP_BY_NAME))
                continue
            t, tags = file_labels([*folders[-1:], p.stem], p)            # its folder and its name
            if t == UNKNOWN:
                t = file_labels([*folders, p.stem], p)[0]
            jobs.setdefault(str(p.resolve()), _Job(p.resolve(), t, tags, p.parent.name, p.parent.name))
            continue
        root = p.resolve()
        above = _folder_names(root)          # "Kicks/808" ingested as it is still says kick
        everything = walk(root, skipped, linked)
        kit_files = sorted(f for f in everything if is_kit_file(f) and f.is_file())
        parts = set().union(*[sfz_includes(f) for f in kit_files if f.suffix.lower() == ".sfz"])
        kit_files = [f for f in kit_files if f.resolve() not in parts]   # an #include'd .sfz is part of a kit
        for kf in kit_files:
            for ks in read_kit(kf):  # a missing layer file is reported when ingested
                kit_job(ks, kf)
        for f in everything:
            if f.is_symlink() and not f.exists() and f.suffix.lower() in AUDIO_EXTENSIONS and skipped is not None:
                skipped.append((str(f), audio.DANGLING))
                if dangling is not None:               # the file it pointed at leaves the library (that file only)
                    dangling.append(os.path.realpath(f))
                continue
            if _archive(f) and skipped is not None and f.is_file():   # a pack left zipped: named, not lost unsaid
                skipped.append((str(f.resolve()), ARCHIVE))
                continue
            if f.is_file() and f.suffix.lower() in AUDIO_EXTENSIONS and not f.name.startswith("."):
                fr = f.resolve()
                if str(fr) in jobs or fr in in_kits:
                    continue
                rel = f.relative_to(root)
                if _says_loop([*above, *rel.parent.parts, rel.stem]):
                    if skipped is not None:
                        skipped.append((str(fr), LOOP_BY_NAME))
                    continue
                t, tags = file_labels([*rel.parent.parts, rel.stem], f)
                if t == UNKNOWN:
                    t = file_labels([*above, *rel.parent.parts, rel.stem], f)[0]
                folder = str(rel.parent) if str(rel.parent) != "." else ""
                jobs[str(fr)] = _Job(fr, t, tags, root.name, f"{root.name}/{folder}".rstrip("/"))
    return list(jobs.values())


def file_labels(names: list[str], path: Path) -> tuple[str, list[str]]:
    """(type, tags) from folder names and a file's stem (the last name). A hit Drummy
    generated, with its sidecar beside it, takes its tags from its recipe, not from its
    name (`kick+808_decay+1_s3_01.wav` is tagged 808, not decay or s3), and its type from
    its folders, else from the recipe's weightiest drum type."""
    recipe = _recipe_labels(path)
    if recipe is None and (parts := _name_recipe(path.stem)) is not None:    # a blend's hit without its sidecar
        recipe = _parts_labels(parts)
    if recipe is None:
        return labels_from_names(names)
    t, tags = labels_from_names([*names[:-1], ""])          # the folders, as for any file in them
    return (t if t != UNKNOWN else recipe[0]), list(dict.fromkeys([*tags, *recipe[1]]))


REMADE = ".again"    # `generate --from` remakes a hit beside itself as <name>.again.wav, with no sidecar of its own


def sidecar_of(hit: str | Path) -> Path:
    """The JSON sidecar that says how a generated hit was made: its own, or a remake's
    original's (`<name>.again.wav` has none)."""
    hit = Path(hit)
    own = hit.with_suffix(".json")
    if hit.stem.endswith(REMADE) and not own.exists():
        return hit.with_name(hit.stem.removesuffix(REMADE) + ".json")
    return own


def drummy_sidecar(hit: str | Path) -> dict | None:
    """The JSON sidecar `generate` wrote for a hit (`sidecar_of`), read; None where the file has none."""
    try:
        side = sidecar_of(hit)
        if side.stat().st_size > 1 << 16:
            return None
        meta = json.loads(side.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return meta if isinstance(meta, dict) and "drummy" in meta and "mode" in meta else None


def _recipe_labels(path: Path) -> tuple[str, list[str]] | None:
    """(drum type or unknown, tags) of the recipe in a generated hit's sidecar
    (`<stem>.json` as `generate` writes it); (unknown, []) for a variation or a morph.
    None when the file has no such sidecar."""
    meta = drummy_sidecar(path)
    if meta is None:
        return None
    parts = meta.get("recipe_parts")          # the model's own labels, as it resolved them
    if not (isinstance(parts, list) and all(isinstance(p, list) and len(p) == 2 and isinstance(p[1], list)
                                            for p in parts)):
        parts = _written_recipe(meta.get("recipe"))     # an older sidecar: the recipe as written
    return _parts_labels(parts)


def _parts_labels(parts: list) -> tuple[str, list[str]]:
    """(the weightiest drum type or unknown, the other labels as tags) of recipe parts
    [[weight, [label, ...]], ...]."""
    from .labels import TYPES, type_of
    weight: dict[str, float] = {}
    tags: list[str] = []
    for w, labs in parts:
        for lab in (normalise(str(x)) for x in labs):
            t = lab if lab in TYPES else type_of(lab)      # "hats" and "HH" say hihat
            if t is not None:
                weight[t] = weight.get(t, 0.0) + (float(w) if isinstance(w, (int, float)) else 1.0)
            elif lab and lab not in tags:
                tags.append(lab)
    return (max(weight, key=weight.get) if weight else UNKNOWN), tags


# How `generate` names a blend's hits: <recipe>[_<controls>]_s<seed>_<n>[.again], the recipe weighted as
# `Recipe.name` writes it (snare80-hihat20, kick+808_30-snare70, 808_50-909_50)
_GENERATED_NAME = re.compile(r"(?P<recipe>.+?)(?:_(?:bright|decay|attack|pitch)[+-][\d.]+|_var[\d.]+)*_s\d+_\d+(?:\.again)?")
_WEIGHTED_PART = re.compile(r"(?P<labels>.+?)_?(?P<weight>\d+)")


def _name_recipe(stem: str) -> list | None:
    """The parts [[weight, [label, ...]], ...] of a blend of two or more parts that a
    generated hit's file name gives, for a hit copied without its sidecar: its name holds
    both types ("snare80-hihat20"), and the last type word named it a hihat. None for any
    other name: the weights must add up to 100 (percent)."""
    m = _GENERATED_NAME.fullmatch(stem)
    parts = m.group("recipe").split("-") if m else []
    found = [_WEIGHTED_PART.fullmatch(p) for p in parts]
    if len(parts) < 2 or not all(found):
        return None
    out = [[float(f.group("weight")), [lab.replace("_", " ") for lab in f.group("labels").split("+")]] for f in found]
    return out if 98 <= sum(w for w, _ in out) <= 102 else None


def _written_recipe(text) -> list:
    """A recipe as typed ("HH=30,Kick+808=70") -> [[weight, [label, ...]], ...], read by
    `generate.parse_recipe` with every word in it taken as a label; [] when unreadable."""
    if not isinstance(text, str):
        return []
    from .generate import RecipeError, parse_recipe
    words = [w for w in (normalise(x) for x in re.split(r"[,+=:]", text)) if w]
    try:
        return [[w, labs] for w, labs in parse_recipe(text, words).parts]
    except RecipeError:
        return []


# Folders that hold no samples of the producer's: a zip's resource forks, a NAS's thumbnails,
# the bins. Hidden folders (.Trashes, .git ...) are left out too.
_SYSTEM_FOLDERS = {"__macosx", "@eadir", "$recycle.bin", "#recycle", "system volume information", "lost+found"}
LOOP_BY_NAME = "a loop by its name: Drummy learns one-shots"
ARCHIVE_EXTENSIONS = (".zip", ".rar", ".7z", ".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tar.xz",   # how packs are sold
                      ".h2drumkit")                                                        # (and Hydrogen kits)
ARCHIVE = "an archive: Drummy reads no archives; unpack it and ingest its folder"


def _archive(path: Path) -> bool:
    return path.name.lower().endswith(ARCHIVE_EXTENSIONS) and not path.name.startswith(".")


def walk(root: Path, skipped: list[tuple[str, str]] | None = None, linked: list[Path] | None = None) -> list[Path]:
    """Every file under root: the real folders' first (files before links to files), then
    those of linked folders, each real folder once (a link to a folder already walked, or
    back up, ends there; one to a folder above root is not followed), so a file is found by
    its own path before any link's. Hidden and
    system folders are left out. A folder that cannot be read is added to `skipped`; the
    real paths of the linked folders walked, to `linked`."""
    def unreadable(e: OSError) -> None:
        if skipped is not None:
            skipped.append((str(e.filename), f"cannot read this folder ({e.strerror})"))

    seen: set[str] = set()
    links: list[Path] = []
    top = Path(os.path.realpath(root))

    def above(folder: str) -> bool:
        """A link to a folder that holds root: following it would take in all of that."""
        if not os.path.islink(folder):
            return False
        real = os.path.realpath(folder)
        if str(top) != real and top.is_relative_to(real):
            if skipped is not None:
                skipped.append((folder, "a link to a folder that holds the one ingested: not followed"))
            return True
        return False

    def visit(top: Path, follow: bool) -> list[Path]:
        found = []
        for dirpath, dirnames, filenames in os.walk(top, onerror=unreadable, followlinks=follow):
            real = os.path.realpath(dirpath)
            if real in seen:
                dirnames[:] = []
                continue
            seen.add(real)
            if follow and linked is not None:
                linked.append(Path(real))
            keep = [d for d in dirnames if not d.startswith(".") and d.lower() not in _SYSTEM_FOLDERS
                    and not above(os.path.join(dirpath, d))]
            if not follow:
                links.extend(Path(dirpath) / d for d in keep if os.path.islink(os.path.join(dirpath, d)))
            dirnames[:] = sorted(keep)
            found += [Path(dirpath) / f for f in filenames]
        return sorted(found, key=lambda f: (f.is_symlink(), f))

    out = visit(root, False)
    for link in sorted(links):
        out += visit(link, True)
    return out


_PACK_WORDS = {"pack", "packs", "kit", "kits", "vol", "volume", "collection", "bundle", "masters", "edition", "free"}


def _says_loop(names: list[str]) -> bool:
    """Whether a file's names (its folders, general first, then its own) call it a loop:
    its own name saying "loop", or the nearest folder that says "loop(s)" or "one shot(s)"
    saying "loop(s)" as its first or last word ("Loops/Kicks/", "Drum Loops/"; not "Drum
    Loops & One Shots/One Shots/Kicks/", nor a vendor's "Producer Loops - Trap Essentials/").
    A pack's name over folders of drums says nothing of what is in them ("Loops Pack/Kicks/", "Loop
    Masters Free Pack/Drum Hits/": their one-shots were left out as loops); over files, it does."""
    if {"loop", "loops"} & set(normalise(names[-1]).split()):
        return True
    drums_below = False                  # a folder nearer the file names a drum or hits ("Kicks", "Drum Hits")
    for name in reversed(names[:-1]):
        words = normalise(name).split()
        if {"shot", "shots", "oneshot", "oneshots"} & set(words):
            return False
        if words and {words[0], words[-1]} & {"loop", "loops"} and not (drums_below and _PACK_WORDS & set(words)):
            return True                  # ("Free Drum Loops/break 01.wav" is still a loop)
        drums_below |= type_of(name) is not None or bool({"hit", "hits"} & set(words))
    return False


def _folder_names(folder: Path, levels: int = 2) -> list[str]:
    """The names of `folder` and the folders above it, `levels` in all, general first: a
    drum type the names below do not give ("Samples/Kicks/808" ingested as it is). The
    home folder, those above it and a drive's per-user mount folder (/media/tom) never
    count: ~ of a user called Tom is no tom."""
    try:
        home = Path.home().resolve()
    except (RuntimeError, KeyError, OSError):     # no $HOME and no passwd entry (containers)
        home = None
    near = []
    for q in [folder, *folder.parents][:levels]:
        real = q.resolve()
        if home is not None and (real == home or real in home.parents) or real.parent.name == "media":
            continue
        near.append(q.name)
    return near[::-1]


def _worker(parent: int | None, lock_fd: int | None) -> None:
    """Set up an ingest worker process; parent: the pid of the `_ingest` that forked it
    (None where it was not forked)."""
    # Ctrl-C reaches every process of the terminal's group: a worker it stopped half-way
    # left the pool's queues locked, and the main process hung at the shutdown (1 in 8
    # tries). The main process alone stops; the workers finish the files they hold.
    # So with SIGTERM (a service manager sends it to every process of the service). First
    # thing: a signal during the imports below would break the pool too.
    import signal
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, signal.SIG_IGN)
    # Worker processes split the cores between them; a BLAS pool per worker on top
    # of that oversubscribes the machine (measured: 3x slower on 2 cores).
    from threadpoolctl import threadpool_limits
    threadpool_limits(1)
    # A worker must not outlive its ingest. Killed (SIGKILL, or SIGTERM outside the CLI),
    # the main process left its workers waiting for work for good, holding the copy of
    # the workspace's lock they got at the fork: every later command found it busy.
    if lock_fd is not None:
        os.close(lock_fd)
    if parent is not None:
        import ctypes
        ctypes.CDLL(None).prctl(1, signal.SIGKILL)       # PR_SET_PDEATHSIG (Linux): killed when the parent dies
        if os.getppid() != parent:                       # ... which it did before that line
            os._exit(0)


# The rules that skip a file, in their version: a file skipped under older rules is tried
# again (its size and date alone would keep it skipped after an upgrade that reads it).
SAVE_SECONDS = 60.0   # an ingest saves what it has read so far this often: what an interruption may cost
SKIP_RULES = 2
# how files are decoded (`audio.load`): a file decoded by older rules is decoded again, so its copy and
# hash are today's (2: a DC offset taken out before trimming; a copy of an offset file ingested after it
# got another hash than the file ingested before, and the library held the one sound twice)
DECODE_RULES = 2
# what a workspace holds: a folder with anything else in it (and no library.json) is not one (`writing`):
# `ingest ~/Samples -w ~/Samples` put the store and models among a producer's own samples
COMMAND: str | None = None   # what this process is, for a workspace's lock (`cli` sets it: "drummy train vae -w work")


def _hold(f) -> None:
    """Write who holds a workspace into its lock file, for a command it turns away to name."""
    f.seek(0)
    f.truncate()
    f.write(json.dumps({"pid": os.getpid(), "command": COMMAND, "since": time.time()}))
    f.flush()


def _holder(f) -> str:
    """The command holding a workspace, as its lock file says: "`drummy train vae -w work` (pid 412,
    since 15:40)", the day too where not today ("since Sat 05 Dec 15:40").
    A producer with two terminals open was told only "another drummy command", and
    could not tell a training's long wait from a command left hanging."""
    try:
        f.seek(0)
        rec = json.loads(f.read())
        pid, when = int(rec["pid"]), time.localtime(float(rec["since"]))
        # a command left hanging in a window since yesterday read like one started today
        since = time.strftime("%H:%M" if when[:3] == time.localtime()[:3] else "%a %d %b %H:%M", when)
    except (ValueError, KeyError, TypeError, OSError, OverflowError):
        return "another drummy command (an ingest or a training)"   # a lock from before the record, or one half-written
    who = f"`{rec['command']}`" if isinstance(rec.get("command"), str) else "another drummy command"
    return f"{who} (pid {pid}, since {since})"


_OWN_NAMES = {"audio", "models", "generated", "report", "library.json", "features.safetensors", "codes.safetensors"}


OTHER_WORKSPACE = ("a Drummy workspace: its audio/ holds copies of samples, not samples (ingest its generated/ "
                   "by name for the hits made there)")


def is_workspace(folder: Path) -> bool:
    """Whether a folder is a Drummy workspace: a library.json beside an audio/ store."""
    return (folder / "library.json").is_file() and (folder / "audio").is_dir()


def workspace_of(folder: Path, found: dict) -> Path | None:
    """The Drummy workspace a folder lies in (or is): the nearest folder at or above it that
    `is_workspace`, resolved; None if none. found caches the answer per folder."""
    folder = folder.resolve()
    if folder not in found:
        found[folder] = folder if is_workspace(folder) else None if folder.parent == folder else \
            workspace_of(folder.parent, found)
    return found[folder]


def _lasting(entry: dict) -> bool:
    """Whether a recorded skip holds until the file changes: made by today's rules, and not
    for a passing reason (a file that could not be opened may be readable now: a chmod
    changes neither its size nor its date)."""
    reason = entry.get("reason")
    return bool(reason) and entry.get("rules") == SKIP_RULES and not reason.startswith(audio.UNREADABLE)


def _decode_job(job: tuple[Path, bool, int, int | None]):
    """Decode, hash and featurise one file (runs in a worker process): (path, whether it
    is a loose file, not a kit's, which must then sound like a one-shot, and the slice of
    it a kit plays: start, end frames, `audio.decode`). Returns
    (audio, source rate, hash, log-mel, descriptors) or a skip reason. No file stops an
    import: what the decoders or the features raise on it is its skip reason."""
    path, loose, start, end = job
    try:
        y, rate = audio.load_with_rate(path, start=start, end=end)
        if loose and (reason := features.loop_reason(y)):     # a kit's own sample is a sound it plays, even a roll
            return reason
        h = hashlib.sha1(y.tobytes()).hexdigest()[:16]
        mel, desc = features.log_mel(y), features.descriptors(y)
    except audio.AudioError as e:
        return str(e)
    except Exception as e:                                    # a decoder's or a library's bug, met on this file
        return f"cannot decode audio ({type(e).__name__}: {audio.first_line(e)})"
    if not np.all(np.isfinite(mel)):           # (a descriptor may be NaN: no pitch in a hat)
        return "its log-mel is not finite numbers (an absurd level?)"
    return y, rate, h, mel, desc


def _kit_job(ks: KitSample, kit_file: Path) -> _Job:
    return _Job(ks.path.resolve(), ks.drum_type, ks.tags, ks.kit, f"kit:{ks.kit}", ks.velocity, ks.instrument, ks.note,
                ks.gain, ks.pan, ks.start, ks.end, [str(kit_file.resolve())])

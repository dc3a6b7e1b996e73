"""Shared fixtures: tests build their own audio in tmp_path."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

SR = 44100


def kick(seed: int = 0, sr: int = SR, seconds: float = 0.5) -> np.ndarray:
    """A sine with a falling pitch and an exponential decay."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(sr * seconds)) / sr
    f = 50 + rng.uniform(80, 150) * np.exp(-t * 30)
    return (0.9 * np.sin(2 * np.pi * np.cumsum(f) / sr) * np.exp(-t * rng.uniform(6, 10))).astype(np.float32)


def hat(seed: int = 0, sr: int = SR, seconds: float = 0.15) -> np.ndarray:
    """High-passed noise with a fast decay."""
    rng = np.random.default_rng(seed)
    n = int(sr * seconds)
    x = rng.standard_normal(n)
    x = np.diff(np.diff(x, prepend=0), prepend=0)  # crude high-pass
    return (0.3 * x * np.exp(-np.arange(n) / sr * rng.uniform(30, 50))).astype(np.float32)


def snare(seed: int = 0, sr: int = SR, seconds: float = 0.3) -> np.ndarray:
    """White noise over a 190 Hz tone, both with a fast decay."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(sr * seconds)) / sr
    y = rng.standard_normal(len(t)) * np.exp(-t * 25) + 0.8 * np.sin(2 * np.pi * 190 * t) * np.exp(-t * 20)
    return (0.8 * y / np.abs(y).max()).astype(np.float32)


def drum_loop(path: Path, seed: int = 0) -> tuple[np.ndarray, list[int]]:
    """A kick, a snare and a hat one after the other in one 16-bit file (a chopped loop, or a
    kit's one file of hits): its audio as read back (frames,) and the frames where each hit
    starts, then the file's length."""
    hits = [kick(seed, seconds=0.4), snare(seed), 0.4 * hat(seed)]
    write(path, np.concatenate(hits))
    return sf.read(str(path), dtype="float32")[0], np.cumsum([0] + [len(h) for h in hits]).tolist()


def write(path: Path, y: np.ndarray, sr: int = SR, subtype: str = "PCM_16", fmt: str | None = None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(str(path), y, sr, subtype=subtype, format=fmt)
    return path


def interrupt_at(n: int, fn):
    """fn, except that its n-th call raises KeyboardInterrupt (a producer's Ctrl-C then)."""
    calls = []

    def wrapped(*a, **k):
        calls.append(1)
        if len(calls) == n:
            raise KeyboardInterrupt
        return fn(*a, **k)
    return wrapped


@pytest.fixture
def tiny_library(tmp_path: Path) -> Path:
    """kick/808, kick/909, hihat/808, hihat/909 folders with 4 hits each."""
    root = tmp_path / "lib"
    for style_i, style in enumerate(["808", "909"]):
        for i in range(4):
            write(root / "kick" / style / f"Boom {i + 1}.wav", kick(10 * style_i + i))
            write(root / "hihat" / style / f"tick_{i + 1:02d}.wav", hat(10 * style_i + i))
    return root


@pytest.fixture
def small_disk(tmp_path: Path):
    """A real 64 kB file system (tmpfs) that fills up at once; skipped where it cannot be mounted."""
    import subprocess
    disk = tmp_path / "full"
    disk.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(disk)], capture_output=True).returncode:
        pytest.skip("cannot mount a small tmpfs here (needs root)")
    try:
        yield disk
    finally:
        subprocess.run(["umount", str(disk)], capture_output=True)


@pytest.fixture
def ctrl_c_raises():
    """Ctrl-C (SIGINT) raising KeyboardInterrupt in this process, as in a terminal. A job a
    script starts in the background (`make test &`) inherits SIGINT ignored, and Python then
    leaves it so."""
    import signal
    before = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, before)


def ctrl_c_default() -> None:
    """For `subprocess.Popen(preexec_fn=...)`: the child hears Ctrl-C (see `ctrl_c_raises`)."""
    import signal
    signal.signal(signal.SIGINT, signal.SIG_DFL)

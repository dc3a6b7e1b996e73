"""Drummy: grow new drum sounds out of the samples you already own."""
import os

__version__ = "0.1.0"

# torch's OpenMP threads spin while they wait for each other. On a machine busy with other
# work (a DAW, a second training) a waiting thread burns the core the one it waits for needs:
# a short generator training beside two others took 2-5x as long. Sleeping instead costs
# nothing measurable on an idle machine (benchmarks/busy_machine.py). Read once, when torch
# loads its OpenMP library: so here, before any of Drummy's modules imports torch.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


def numba_cache_dir(package_dir: str, home: str) -> str | None:
    """Where numba should keep librosa's compiled functions when neither place it tries is
    writable (None when one is). It writes them beside librosa's source, else under
    ~/.cache; with neither (a shared install run by a service user, a read-only HOME) librosa's
    first call died with numba's "cannot cache function" traceback."""
    if os.access(package_dir, os.W_OK):
        return None
    cache = os.path.join(home, ".cache")
    if os.access(cache if os.path.isdir(cache) else home, os.W_OK):
        return None
    return _private_dir("drummy-numba")


def _private_dir(name: str) -> str:
    """A folder of this user's alone under the temp folder: <tmp>/<name>-<uid>, made mode 0700,
    or, when that name is taken by anything else (another user's folder, a link, one others
    may write to: numba reads its cache with pickle), a new one of its own."""
    import stat
    import tempfile
    uid = os.getuid() if hasattr(os, "getuid") else None
    if uid is not None:
        path = os.path.join(tempfile.gettempdir(), f"{name}-{uid}")
        try:
            os.mkdir(path, 0o700)
        except FileExistsError:
            pass
        except OSError:
            return tempfile.mkdtemp(prefix=f"{name}-")
        st = os.lstat(path)
        if stat.S_ISDIR(st.st_mode) and st.st_uid == uid and not st.st_mode & 0o077:
            return path
    return tempfile.mkdtemp(prefix=f"{name}-")


def _numba_cache() -> None:
    if "NUMBA_CACHE_DIR" in os.environ:        # the user's own choice stands
        return
    from importlib.util import find_spec
    spec = find_spec("librosa")
    if spec is not None and spec.origin:
        where = numba_cache_dir(os.path.dirname(spec.origin), os.path.expanduser("~"))
        if where is not None:
            os.environ["NUMBA_CACHE_DIR"] = where


_numba_cache()

"""numba's cache of librosa's compiled code: a folder numba can write, a lock every Drummy
process takes while it compiles or reads it, and the mending of a cache a crash left damaged."""
import os
import sys
from contextlib import contextmanager


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


def librosa_caches() -> list[str]:
    """The folders where numba may keep librosa's compiled code: each librosa source folder's
    __pycache__, and its folder under NUMBA_CACHE_DIR and under numba's user cache (named
    as numba names it: the folder's name and the SHA-1 of its path)."""
    import hashlib
    from importlib.util import find_spec
    spec = find_spec("librosa")
    if spec is None or not spec.origin:
        return []
    roots = [os.environ.get("NUMBA_CACHE_DIR", "")]
    try:
        from numba.misc.appdirs import AppDirs
        roots.append(AppDirs(appname="numba", appauthor=False).user_cache_dir)
    except Exception:                        # not where this numba keeps it: the other places still count
        pass
    out = []
    for folder, dirs, _ in os.walk(os.path.dirname(os.path.abspath(spec.origin))):
        dirs[:] = [d for d in dirs if d != "__pycache__"]
        sub = f"{os.path.basename(folder)}_{hashlib.sha1(folder.encode()).hexdigest()}"
        out += [os.path.join(folder, "__pycache__")] + [os.path.join(r, sub) for r in roots if r]
    return out


def clear_librosa_cache(folders: list[str]) -> int:
    """Delete numba's cache files (.nbi, .nbc) in these folders; how many went."""
    gone = 0
    for folder in folders:
        try:
            names = os.listdir(folder)
        except OSError:
            continue
        for name in names:
            if name.endswith((".nbi", ".nbc")):
                try:
                    os.remove(os.path.join(folder, name))
                    gone += 1
                except OSError:
                    pass
    return gone


@contextmanager
def numba_lock(folders: list[str] | None = None):
    """Held while a process compiles librosa's numba code or reads it from numba's cache
    (`features.warm_up`). Two processes compiling it at once can write a cache that crashes
    every later reader with a call through a null pointer (numba#10128): with the lock, a
    second Drummy waits for the first. A holder that died inside (such a crash) leaves its
    mark in the lock file, and the next holder deletes librosa's cache first (in folders,
    default `librosa_caches()`), so that the crash happens once, not on every run. Where there
    is no lock to be had (no POSIX file locks, no temp folder, a file system that refuses
    them), the code is loaded as it was before, unlocked."""
    taken = _take()
    if taken is None:
        yield
        return
    fd, mark = taken
    try:
        if mark.startswith(b"warming"):
            _mend(librosa_caches() if folders is None else folders, mark)
        try:
            yield
        finally:                         # an exception is no crash; a segfault never gets here
            _unmark(fd)
    finally:
        os.close(fd)                     # and the lock with it


def _take() -> tuple[int, bytes] | None:
    """The lock file, locked and marked as this process's warm-up, and the mark it held before;
    None where there is no lock to be had. Says so when another Drummy holds it."""
    try:
        import fcntl
        fd = os.open(os.path.join(_private_dir("drummy-numba"), "warm-up.lock"), os.O_RDWR | os.O_CREAT, 0o600)
    except (ImportError, OSError):
        return None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            print("drummy: waiting for another Drummy to finish loading librosa's numba code ...",
                  file=sys.stderr, flush=True)
            fcntl.flock(fd, fcntl.LOCK_EX)
        mark = os.pread(fd, 64, 0)
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"warming {os.getpid()}".encode(), 0)
    except OSError:                      # a lock the file system refuses (NFS), a full temp folder
        os.close(fd)
        return None
    return fd, mark


def _unmark(fd: int) -> None:
    try:
        os.ftruncate(fd, 0)
    except OSError:
        pass


def _mend(folders: list[str], mark: bytes) -> None:
    """Delete the cache a run that stopped inside the lock may have left damaged, and say so."""
    gone = clear_librosa_cache(folders)
    who = mark.decode(errors="replace").removeprefix("warming").strip()
    what = f"deleted that cache ({gone} files); compiling it again (half a minute) ..." if gone else \
        "found no cache files of it to delete; if this repeats, delete librosa's numba cache by hand (docs/DETAILS.md, \"Workers and the numba cache\")"
    print(f"drummy: the last run{f' (pid {who})' if who else ''} stopped while it loaded librosa's numba "
          f"code: killed, or crashed by a damaged numba cache (numba#10128); {what}", file=sys.stderr, flush=True)


def set_cache_dir() -> None:
    """Give numba a cache folder it can write where it has none (`numba_cache_dir`): before librosa loads."""
    if "NUMBA_CACHE_DIR" in os.environ:        # the user's own choice stands
        return
    from importlib.util import find_spec
    spec = find_spec("librosa")
    if spec is not None and spec.origin:
        where = numba_cache_dir(os.path.dirname(spec.origin), os.path.expanduser("~"))
        if where is not None:
            os.environ["NUMBA_CACHE_DIR"] = where


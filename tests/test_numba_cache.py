"""numba's cache of librosa's code: a folder it can write, the lock, the mending of a damaged cache."""
import os
from pathlib import Path

import pytest


def test_numba_is_given_a_cache_it_can_write_when_it_has_none(tmp_path, monkeypatch):
    # librosa's numba functions are cached beside librosa, else under ~/.cache; a service user
    # with neither writable met numba's "cannot cache function" traceback on the first ingest
    import os
    import stat
    import tempfile
    from drummy.numba_cache import numba_cache_dir
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    assert numba_cache_dir(str(tmp_path), "/nonexistent") is None               # beside librosa: numba's own
    assert numba_cache_dir("/nonexistent/librosa", str(tmp_path)) is None        # ~/.cache can be made
    where = Path(numba_cache_dir("/nonexistent/librosa", "/nonexistent"))
    mode = os.lstat(where).st_mode
    assert where.parent == tmp_path / "tmp" and stat.S_ISDIR(mode) and not mode & 0o077   # this user's alone
    assert numba_cache_dir("/nonexistent/librosa", "/nonexistent") == str(where)           # and kept
    # numba reads its cache with pickle: a folder of that name others may write to is not used
    os.chmod(where, 0o777)
    other = Path(numba_cache_dir("/nonexistent/librosa", "/nonexistent"))
    assert other != where and other.parent == tmp_path / "tmp" and not os.lstat(other).st_mode & 0o077
    where.rmdir()
    where.symlink_to(tmp_path)                                                   # nor a link planted there
    assert Path(numba_cache_dir("/nonexistent/librosa", "/nonexistent")) not in (where, tmp_path)


LOCK_HOLDER = """
import os, signal, sys, time
from drummy.numba_cache import numba_lock
with numba_lock({folders!r}):
    {body}
"""


def _holder(tmp_path, body: str, folders: list[str]):
    import subprocess
    import sys
    env = {**os.environ, "TMPDIR": str(tmp_path / "tmp")}
    return subprocess.Popen([sys.executable, "-c", LOCK_HOLDER.format(folders=folders, body=body)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_a_run_that_died_loading_numbas_cache_has_the_next_run_delete_it(tmp_path, monkeypatch, capsys):
    # a cache written by two processes at once crashes every later reader (numba#10128): without
    # this, every ingest after that crashed, with no message, until someone deleted it by hand
    import tempfile
    from drummy.numba_cache import numba_lock
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    cache, other = tmp_path / "cache", tmp_path / "other"
    for folder, names in ((cache, ["f-1.py311.nbi", "f-1.py311.2.nbc", "notes.txt"]), (other, ["g.nbi"])):
        folder.mkdir()
        for name in names:
            (folder / name).write_bytes(b"x")
    died = _holder(tmp_path, "os.kill(os.getpid(), signal.SIGSEGV)", [str(cache)])   # a crash inside numba
    assert died.wait(60) == -11
    with numba_lock([str(cache)]):
        pass
    err = capsys.readouterr().err
    assert f"the last run (pid {died.pid}) stopped while" in err and "deleted that cache (2 files)" in err
    assert sorted(p.name for p in cache.iterdir()) == ["notes.txt"] and (other / "g.nbi").exists()
    (cache / "f-1.py311.nbi").write_bytes(b"x")                   # compiled again, and the run ended well
    with pytest.raises(KeyboardInterrupt):
        with numba_lock([str(cache)]):
            raise KeyboardInterrupt                               # a Ctrl-C is no crash
    with numba_lock([str(cache)]):
        pass
    assert (cache / "f-1.py311.nbi").exists() and capsys.readouterr().err == ""


def test_a_second_drummy_waits_for_the_first_to_load_numbas_code(tmp_path, monkeypatch, capsys):
    # two processes compiling librosa's numba code at once write a cache that crashes later runs
    import tempfile
    from drummy.numba_cache import numba_lock
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    done = tmp_path / "done"
    first = _holder(tmp_path, f"print('in', flush=True); time.sleep(1.0); open({str(done)!r}, 'w').close()", [])
    assert first.stdout.readline().strip() == "in", first.stderr.read()
    with numba_lock([]):
        assert done.exists()                                      # only once the first had finished
    assert first.wait(60) == 0
    assert "waiting for another Drummy" in capsys.readouterr().err   # and said why it waited


def test_without_a_lock_to_be_had_numbas_code_loads_unlocked(tmp_path, monkeypatch):
    # a file system that refuses locks (NFS: ENOLCK) stopped every command that reads audio
    import errno
    import fcntl
    import tempfile
    from drummy.numba_cache import numba_lock
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()

    def refused(fd, how):
        raise OSError(errno.ENOLCK, "No locks available")
    monkeypatch.setattr(fcntl, "flock", refused)
    ran = []
    with numba_lock([]):
        ran.append(1)
    assert ran == [1]


def test_the_folders_mended_are_where_numba_keeps_librosas_code(tmp_path, monkeypatch):
    # numba names a source folder's cache under NUMBA_CACHE_DIR by its name and a hash of its path
    from importlib.util import find_spec
    from numba.core.caching import _CacheLocator
    from drummy.numba_cache import librosa_caches
    monkeypatch.setenv("NUMBA_CACHE_DIR", str(tmp_path))
    util = Path(find_spec("librosa").origin).parent / "util" / "utils.py"
    folders = librosa_caches()
    assert str(tmp_path / _CacheLocator.get_suitable_cache_subpath(str(util))) in folders
    assert str(util.parent / "__pycache__") in folders

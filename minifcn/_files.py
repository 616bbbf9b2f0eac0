"""Files written whole or not at all, with the permissions a plain ``open`` gives them.

A file is written under a temporary name in its own directory and renamed into place
(``os.replace``, atomic within one file system): a write cut short leaves the old file, or
none, never half of one. The temporary file is made the way ``open`` makes files, mode 0o666
less the umask (0o644 under the usual umask 022). ``tempfile.mkstemp`` makes it 0o600, and the
rename keeps that: every checkpoint, picture and dataset would be readable by its writer alone.

>>> import os, tempfile
>>> path = os.path.join(tempfile.mkdtemp(), "notes.txt")
>>> write_text(path, "hello\\n")
>>> open(path).read(), sorted(os.listdir(os.path.dirname(path)))   # no temporary file left
('hello\\n', ['notes.txt'])
"""
from __future__ import annotations

import os
import secrets
import signal
import threading
from contextlib import contextmanager
from pathlib import Path


def _fresh(parent: Path, prefix: str, suffix: str, make):
    """``make(name)`` on a new random name in ``parent`` until one is free."""
    while True:
        name = parent / f"{prefix}{secrets.token_hex(6)}{suffix}"
        try:
            return name, make(name)
        except FileExistsError:
            continue


def check_directory(path, what: str) -> None:
    """Raise NotADirectoryError, naming ``what``, when ``path`` or the nearest of its parents
    that exists is not a directory: a run would otherwise fail where it first writes, after
    its work (``--out a_file/run`` as much as ``--out a_file``)."""
    for p in (Path(path), *Path(path).parents):
        if p.exists():
            if not p.is_dir():
                raise NotADirectoryError(f"{what} {path}: {p} is a file, expected a directory")
            return


def check_writable(path, kind: str = "file", what: str = "--out") -> None:
    """Raise an OSError naming ``what`` and ``path`` unless a command can write its output there,
    found before its work, not after it. ``kind="file"``: ``path`` is not a directory; ``"dir"``:
    ``path`` is not a file. Either way the nearest existing directory on the way (the file's
    parent, or the directory itself, or an ancestor the write would create) must be a
    directory, and a file can be created and removed in it: nothing is left behind, not even
    the directories a later write would make.

    >>> import os, tempfile
    >>> d = tempfile.mkdtemp()
    >>> check_writable(os.path.join(d, "new", "x.json")); os.listdir(d)   # nothing left
    []
    >>> open(os.path.join(d, "afile"), "w").close()
    >>> check_writable(os.path.join(d, "afile", "x.json"), what="--json")
    Traceback (most recent call last):
    NotADirectoryError: --json .../afile/x.json: .../afile is a file, expected a directory
    """
    if kind not in ("file", "dir"):
        raise ValueError(f"kind must be 'file' or 'dir', got {kind!r}")
    path = Path(path)
    if kind == "file" and path.is_dir():
        raise IsADirectoryError(f"{what} {path}: a directory, expected the path of a file to write")
    start = path.parent if kind == "file" else path
    for nearest in (start, *start.parents):   # Path("x").parent is Path("."), which exists
        if nearest.exists():
            break
    if not nearest.is_dir():
        raise NotADirectoryError(f"{what} {path}: {nearest} is a file, expected a directory")
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    try:   # a probe in the nearest existing directory: where the first write (or mkdir) happens
        probe, fd = _fresh(nearest, ".minifcn-probe.", ".tmp",
                           lambda name: os.open(name, flags, 0o666))
        os.close(fd)
        os.unlink(probe)
    except OSError as e:
        raise type(e)(f"{what} {path}: cannot write a file in {nearest} ({e.strerror or e}); expected "
                      "a writable directory") from None


@contextmanager
def replacing(path, suffix: str = ".tmp"):
    """``with replacing(path) as tmp:`` write the file ``tmp`` (a :class:`~pathlib.Path` beside
    ``path``, made empty); when the block ends normally it is renamed to ``path``, when it
    raises it is removed and ``path`` is left as it was."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    tmp, fd = _fresh(path.parent, f".{path.name}.", suffix, lambda name: os.open(name, flags, 0o666))
    os.close(fd)
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


@contextmanager
def deferring_sigint():
    """``with deferring_sigint():`` hold Ctrl-C back until the block ends: a SIGINT that comes
    inside it is recorded and handed to the previous handler (Python's own raises
    KeyboardInterrupt) once the block is done, so a file being written (and renamed into
    place) is finished first. A KeyboardInterrupt raised inside zipfile's writing had left
    "Can't close the ZIP file while there is an open writing handle" and a traceback. Nothing
    is installed off the main thread (Python runs handlers there alone) or where SIGINT is
    ignored or handled outside Python.

    >>> import signal
    >>> try:
    ...     with deferring_sigint():
    ...         signal.raise_signal(signal.SIGINT)
    ...         print("the block finished")
    ... except KeyboardInterrupt:
    ...     print("then Ctrl-C")
    the block finished
    then Ctrl-C
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.getsignal(signal.SIGINT)
    if previous in (signal.SIG_IGN, signal.SIG_DFL, None):   # nothing of Python's to defer to
        yield
        return
    pending = []
    signal.signal(signal.SIGINT, lambda signum, frame: pending.append((signum, frame)))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
    if pending:   # only after a block that ended normally: an error in it goes on as it is
        previous(*pending[0])


def write_text(path, text: str) -> None:
    """Write ``text`` to ``path`` whole (see the module doc)."""
    with replacing(path) as tmp:
        tmp.write_text(text)


def temporary_dir(parent, prefix: str) -> Path:
    """A new empty directory in ``parent``, mode 0o777 less the umask (as ``mkdir`` makes
    them; ``tempfile.mkdtemp``'s are 0o700), to be filled and renamed into place."""
    return _fresh(Path(parent), prefix, "", lambda name: os.mkdir(name, 0o777))[0]

"""Download (from mirrors or a local archive), md5-check and safely extract the datasets.

The original PASCAL host is often down, so every dataset record lists mirrors, tried in order,
and ``prepare`` also accepts an archive you already have (a path or a ``file://`` URL). Whatever
the source, the file is md5-checked, and it appears under its name only when complete and
correct. An HTTP download that breaks off (a dropped connection, Ctrl-C) keeps what it got in
``.<name>.part`` beside the destination, and the next call resumes it from there where the
server takes a byte range (VOC's tar is 1.9 GB), or starts over where it does not.

>>> sorted(DATASETS)
['sbd', 'voc2012']
>>> DATASETS["voc2012"].md5
'6cd6e144f989b92b3379bac3b3de84fd'
"""
from __future__ import annotations

import hashlib
import http.client
import os
import shutil
import tarfile
import tempfile
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from ..progress import progress_bar

__all__ = ["DatasetRecord", "VOC2012", "SBD", "DATASETS", "md5sum", "download", "extract_tar",
           "prepare", "DownloadError"]


@dataclass(frozen=True)
class DatasetRecord:
    """Where an archive comes from and what it must hash to."""
    name: str
    filename: str
    md5: str
    size: int | None
    mirrors: tuple
    extracted: str  # path inside the extraction root that proves it is there


VOC2012 = DatasetRecord(
    name="voc2012",
    filename="VOCtrainval_11-May-2012.tar",
    md5="6cd6e144f989b92b3379bac3b3de84fd",
    size=1_999_639_040,
    mirrors=(
        "http://host.robots.ox.ac.uk/pascal/VOC/voc2012/VOCtrainval_11-May-2012.tar",
        "https://pjreddie.com/media/files/VOCtrainval_11-May-2012.tar",  # J. Redmon's mirror
        "http://pjreddie.com/media/files/VOCtrainval_11-May-2012.tar",
    ),
    extracted="VOCdevkit/VOC2012/ImageSets/Segmentation/train.txt",
)
SBD = DatasetRecord(
    name="sbd",
    filename="benchmark.tgz",
    md5="82b4d87ceb2ed10f6038a1cba92111cb",
    size=None,
    mirrors=(
        "https://www2.eecs.berkeley.edu/Research/Projects/CS/vision/grouping/semantic_contours/"
        "benchmark.tgz",
        "http://www.eecs.berkeley.edu/Research/Projects/CS/vision/grouping/semantic_contours/"
        "benchmark.tgz",
    ),
    extracted="benchmark_RELEASE/dataset/train.txt",
)
DATASETS = {"voc2012": VOC2012, "sbd": SBD}


class DownloadError(OSError):
    """Every source failed; the message lists each one and why."""


def md5sum(path, chunk: int = 1 << 20) -> str:
    """Hex md5 of a file, read in chunks.

    >>> import tempfile, os
    >>> p = os.path.join(tempfile.mkdtemp(), "x")
    >>> _ = open(p, "wb").write(b"abc")
    >>> md5sum(p)
    '900150983cd24fb0d6963f7d28e17f72'
    """
    h = hashlib.md5()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(chunk), b""):
            h.update(block)
    return h.hexdigest()


def _local_path(source: str):
    """The file a source names if it is local (a path or file:// URL), else None."""
    if source.startswith("file://"):
        return Path(urllib.request.url2pathname(urllib.parse.urlparse(source).path))
    if "://" not in source:
        return Path(source).expanduser()
    return None


def _open_from(source: str, have: int, timeout: float):
    """``(response, have)``: the response for ``source`` from byte ``have`` on, and the bytes it
    continues from: ``have`` where the server answered the range (206), 0 where it sent the
    whole file (200; a server that ignores ranges) or found the range past the file's end
    (416: a part left from another file or mirror)."""
    headers = {"User-Agent": "minifcn"}
    if have:
        headers["Range"] = f"bytes={have}-"
    try:
        r = urllib.request.urlopen(urllib.request.Request(source, headers=headers), timeout=timeout)
    except urllib.error.HTTPError as e:
        if e.code != 416 or not have:
            raise
        return _open_from(source, 0, timeout)
    ranged = r.status == 206 and r.headers.get("Content-Range", "").startswith(f"bytes {have}-")
    if have and not ranged:
        return r, 0
    return r, have


def _fetch(source: str, part: Path, timeout: float, progress: bool) -> None:
    """Bring ``part`` to the whole content of one source (local or http/https), with a bar.
    A local source is copied whole; an HTTP one continues what ``part`` holds (see the module
    doc), and ``part`` keeps what arrived when the transfer breaks off."""
    local = _local_path(source)
    if local is not None:
        if local.is_dir():
            raise IsADirectoryError(f"local archive {local} is a directory: expected the archive file")
        if not local.is_file():
            raise FileNotFoundError(f"local archive {local} not found")
        shutil.copyfile(local, part)
        return
    if urllib.parse.urlparse(source).scheme not in ("http", "https"):
        raise ValueError(f"unsupported URL scheme in {source!r}: expected http, https or file")
    r, have = _open_from(source, part.stat().st_size if part.is_file() else 0, timeout)
    with r, open(part, "ab" if have else "wb") as f:
        rest = r.headers.get("Content-Length")
        total = None if rest is None else have + int(rest)
        bar = None
        if progress:
            bar = progress_bar(total=total, initial=have, unit="B", unit_scale=True,
                               desc=os.path.basename(urllib.parse.urlparse(source).path) or source)
        try:
            for block in iter(lambda: r.read(1 << 20), b""):
                f.write(block)
                if bar is not None:
                    bar.update(len(block))
        finally:
            if bar is not None:
                bar.close()
        if total is not None and f.tell() != total:
            raise OSError(f"connection closed after {f.tell()} of {total} bytes (kept in "
                          f"{part.name}: the next try resumes there)")


def download(url_or_mirrors, dest, md5: str | None = None, timeout: float = 60.0,
             progress: bool = True) -> Path:
    """Fetch a file from the first source that works and check its md5; return ``dest``.

    Args:
        url_or_mirrors: one source or a list tried in order; a source is an http(s) URL, a
            ``file://`` URL or a local path (an archive you already downloaded).
        dest: the file to create. If it already exists with the right md5, nothing is fetched.
        md5: expected hex digest (None skips the check: only for tests and trusted files).
        timeout: socket timeout per source, in seconds.
        progress: show a progress bar for network downloads.

    Each attempt writes ``.<name>.part`` in ``dest``'s directory; the file is renamed to ``dest``
    only after the md5 matches. A wrong md5 is an error naming the source, the expected and the
    actual digest, and drops the part (the next mirror is tried from scratch); when every
    source fails, DownloadError lists them. A transfer that breaks off keeps its part, which
    the next source, or the next call, continues (see the module doc).

    >>> import tempfile, os
    >>> d = tempfile.mkdtemp()
    >>> src = os.path.join(d, "a.bin")
    >>> _ = open(src, "wb").write(b"abc")
    >>> out = download(["http://127.0.0.1:9/nothing", src], os.path.join(d, "b.bin"),
    ...                md5="900150983cd24fb0d6963f7d28e17f72", timeout=2, progress=False)
    >>> open(out, "rb").read()
    b'abc'
    """
    sources = [url_or_mirrors] if isinstance(url_or_mirrors, (str, os.PathLike)) \
        else list(url_or_mirrors)
    if not sources:
        raise ValueError("no source given: expected a URL, a local path or a list of mirrors")
    md5 = None if md5 is None else md5.lower()   # hex digests are printed in either case
    dest = Path(dest).expanduser()
    if dest.is_file() and (md5 is None or md5sum(dest) == md5):
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    failures, part = [], dest.parent / f".{dest.name}.part"
    for source in map(str, sources):
        try:
            _fetch(source, part, timeout, progress)
            if md5 is not None:
                actual = md5sum(part)
                if actual != md5:
                    part.unlink()   # complete but wrong: nothing in it to resume
                    raise ValueError(f"md5 mismatch for {dest.name} from {source}: expected "
                                     f"{md5}, got {actual}")
            os.replace(part, dest)
            return dest
        # HTTPException: a reply that is not HTTP, or a chunked body cut off (IncompleteRead);
        # neither is an OSError, and either is one source failing, not the whole download
        except (OSError, ValueError, urllib.error.URLError, http.client.HTTPException) as e:
            failures.append(f"  {source}: {e}")
    if part.is_file() and not part.stat().st_size:
        part.unlink()
    raise DownloadError(f"could not get {dest.name} from any source:\n" + "\n".join(failures))


def _is_within(base: Path, target: Path) -> bool:
    base = base.resolve()
    try:
        target.resolve().relative_to(base)
        return True
    except ValueError:
        return False


def extract_tar(path, dest) -> Path:
    """Extract a tar archive (.tar, .tgz, .tar.gz) into ``dest``, refusing unsafe members.

    A member is refused (ValueError naming it, nothing extracted) when its name is absolute,
    climbs out with ``..``, is a symbolic or hard link pointing outside ``dest``, or is a
    device/FIFO. Extraction goes into a temporary directory inside ``dest`` whose contents are
    moved into place at the end.

    >>> import tarfile, tempfile, os, io
    >>> d = tempfile.mkdtemp()
    >>> with tarfile.open(os.path.join(d, "a.tar"), "w") as t:
    ...     info = tarfile.TarInfo("top/x.txt"); info.size = 2
    ...     t.addfile(info, io.BytesIO(b"hi"))
    >>> out = extract_tar(os.path.join(d, "a.tar"), os.path.join(d, "out"))
    >>> open(os.path.join(out, "top", "x.txt")).read()
    'hi'
    """
    path, dest = Path(path), Path(dest).expanduser()
    if not path.is_file():
        raise FileNotFoundError(f"archive {path} not found")
    dest.mkdir(parents=True, exist_ok=True)
    try:
        tar = tarfile.open(path)
    except tarfile.TarError as e:
        raise ValueError(f"{path} is not a readable tar archive: {e}") from None
    with tar:
        members = tar.getmembers()
        for m in members:
            name = m.name
            if name.startswith(("/", "\\")) or os.path.isabs(name) or ".." in Path(name).parts:
                raise ValueError(f"refusing to extract {path}: member {name!r} escapes {dest}")
            if not _is_within(dest, dest / name):
                raise ValueError(f"refusing to extract {path}: member {name!r} escapes {dest}")
            if m.issym() or m.islnk():
                link = Path(m.linkname)
                target = (dest / name).parent / link if m.issym() else dest / link
                if link.is_absolute() or not _is_within(dest, target):
                    raise ValueError(f"refusing to extract {path}: link {name!r} -> "
                                     f"{m.linkname!r} points outside {dest}")
            if m.isdev() or m.isfifo():
                raise ValueError(f"refusing to extract {path}: {name!r} is a device or FIFO")
        tmp = Path(tempfile.mkdtemp(prefix=".extract-", dir=dest))
        try:
            if hasattr(tarfile, "data_filter"):  # Python >= 3.12 (and patched 3.10/3.11)
                tar.extractall(tmp, members=members, filter="data")
            else:
                tar.extractall(tmp, members=members)
            for top in os.listdir(tmp):  # move the finished tree into place
                target = dest / top
                if target.exists():
                    _merge(tmp / top, target)
                else:
                    os.replace(tmp / top, target)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return dest


def _merge(src: Path, dst: Path) -> None:
    """Move ``src``'s tree into an existing ``dst``, replacing files of the same name."""
    if src.is_dir() and dst.is_dir():
        for child in os.listdir(src):
            _merge(src / child, dst / child)
    else:
        if dst.is_dir():
            shutil.rmtree(dst)
        os.replace(src, dst)


def prepare(name: str, root, archive=None, keep_archive: bool = True, progress: bool = True,
            mirrors=None) -> Path:
    """Make dataset ``name`` (``"voc2012"`` or ``"sbd"``) ready under ``root``; return ``root``.

    If the extracted marker file is already there, nothing happens. Otherwise the archive is
    taken from ``archive`` (a local path / file:// URL you downloaded yourself) or else from the
    record's mirrors (or ``mirrors``), md5-checked, saved as ``root/<filename>`` and extracted.
    Afterwards ``VOCSegmentation(root)`` / ``SBDSegmentation(root)`` find it.

    >>> prepare("imagenet", "/tmp")
    Traceback (most recent call last):
    ...
    ValueError: unknown dataset 'imagenet': expected one of ['sbd', 'voc2012']
    """
    if name not in DATASETS:
        raise ValueError(f"unknown dataset {name!r}: expected one of {sorted(DATASETS)}")
    rec = DATASETS[name]
    root = Path(root).expanduser()
    if root.exists() and not root.is_dir():   # had been "[Errno 17] File exists"
        raise NotADirectoryError(f"root {root} is a file: expected a directory for the dataset")
    if (root / rec.extracted).is_file():
        return root
    sources = [str(archive)] if archive is not None else list(mirrors or rec.mirrors)
    made = [p for p in (root, *root.parents) if not p.exists()]   # deepest first
    try:
        tar_path = download(sources, root / rec.filename, md5=rec.md5, progress=progress)
    except BaseException:   # a wrong checksum, no network, Ctrl-C: no empty directories left
        for p in made:
            try:
                p.rmdir()
            except OSError:   # something else put files there meanwhile: theirs to keep
                break
        raise
    extract_tar(tar_path, root)
    if not (root / rec.extracted).is_file():
        raise FileNotFoundError(f"{tar_path} extracted, but {root / rec.extracted} is missing: "
                                f"is it really the {name} archive?")
    if not keep_archive:
        tar_path.unlink()
    return root

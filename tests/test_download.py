"""download/extract end to end over a loopback HTTP server (127.0.0.1 only) and local files."""
import hashlib
import http.server
import io
import tarfile
import threading
from pathlib import Path

import pytest

from minifcn.data import download as dl


@pytest.fixture
def server(tmp_path):
    """Serve tmp_path/www on 127.0.0.1 (random port) in a thread; yield the base URL."""
    www = tmp_path / "www"
    www.mkdir()

    class Handler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *a, **k):
            super().__init__(*a, directory=str(www), **k)

        def log_message(self, *a):
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.timeout = 5
    t = threading.Thread(target=httpd.serve_forever, daemon=True)
    t.start()
    try:
        yield www, f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()
        t.join(timeout=5)


def _tar(path, members):
    with tarfile.open(path, "w:gz") as t:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            t.addfile(info, io.BytesIO(data))
    return hashlib.md5(Path(path).read_bytes()).hexdigest()


def _no_partials(d):
    return not [p for p in Path(d).iterdir() if p.name.startswith(".")]


def test_http_download_md5_checked(server, tmp_path):
    www, url = server
    (www / "a.bin").write_bytes(b"x" * 100_000)
    md5 = hashlib.md5(b"x" * 100_000).hexdigest()
    out = dl.download(url + "/a.bin", tmp_path / "dl" / "a.bin", md5=md5, timeout=5,
                      progress=False)
    assert out.read_bytes() == b"x" * 100_000
    assert _no_partials(tmp_path / "dl")


def test_wrong_md5_raises_and_leaves_nothing(server, tmp_path):
    www, url = server
    (www / "a.bin").write_bytes(b"hello")
    dest = tmp_path / "dl" / "a.bin"
    with pytest.raises(dl.DownloadError) as e:
        dl.download(url + "/a.bin", dest, md5="0" * 32, timeout=5, progress=False)
    msg = str(e.value)
    assert "a.bin" in msg and "0" * 32 in msg and hashlib.md5(b"hello").hexdigest() in msg
    assert not dest.exists() and _no_partials(dest.parent)


def test_first_mirror_failing_second_used(server, tmp_path):
    www, url = server
    (www / "b.bin").write_bytes(b"mirror two")
    md5 = hashlib.md5(b"mirror two").hexdigest()
    dest = dl.download([url + "/missing.bin", url + "/b.bin"], tmp_path / "b.bin", md5=md5,
                       timeout=5, progress=False)
    assert dest.read_bytes() == b"mirror two"
    with pytest.raises(dl.DownloadError, match="missing.bin"):
        dl.download([url + "/missing.bin"], tmp_path / "c.bin", md5=md5, timeout=5,
                    progress=False)


def test_local_path_and_file_url(tmp_path):
    src = tmp_path / "src.bin"
    src.write_bytes(b"local")
    md5 = hashlib.md5(b"local").hexdigest()
    assert dl.download(str(src), tmp_path / "o1", md5=md5).read_bytes() == b"local"
    assert dl.download(src.as_uri(), tmp_path / "o2", md5=md5).read_bytes() == b"local"
    with pytest.raises(dl.DownloadError, match="not found"):
        dl.download(str(tmp_path / "nope"), tmp_path / "o3", md5=md5)


def test_extract_refuses_escaping_members(tmp_path):
    bad = tmp_path / "bad.tgz"
    _tar(bad, {"ok.txt": b"1", "../evil.txt": b"2"})
    with pytest.raises(ValueError, match=r"\.\./evil.txt"):
        dl.extract_tar(bad, tmp_path / "out")
    assert not (tmp_path / "evil.txt").exists() and not (tmp_path / "out" / "ok.txt").exists()
    absolute = tmp_path / "abs.tar"
    with tarfile.open(absolute, "w") as t:
        info = tarfile.TarInfo("/tmp/minifcn_abs_evil.txt")
        t.addfile(info, io.BytesIO(b""))
    with pytest.raises(ValueError, match="escapes"):
        dl.extract_tar(absolute, tmp_path / "out")
    link = tmp_path / "link.tar"
    with tarfile.open(link, "w") as t:
        info = tarfile.TarInfo("up")
        info.type = tarfile.SYMTYPE
        info.linkname = "../../etc"
        t.addfile(info)
    with pytest.raises(ValueError, match="points outside"):
        dl.extract_tar(link, tmp_path / "out")


def test_prepare_end_to_end_from_local_archive_and_mirror(server, tmp_path, monkeypatch):
    www, url = server
    tgz = www / "benchmark.tgz"
    md5 = _tar(tgz, {"benchmark_RELEASE/dataset/train.txt": b"2008_000002\n"})
    rec = dl.DatasetRecord("sbd", "benchmark.tgz", md5, None, (url + "/benchmark.tgz",),
                           "benchmark_RELEASE/dataset/train.txt")
    monkeypatch.setitem(dl.DATASETS, "sbd", rec)
    root = dl.prepare("sbd", tmp_path / "r1", progress=False)  # over the mirror (loopback)
    assert (root / "benchmark_RELEASE/dataset/train.txt").read_text() == "2008_000002\n"
    root = dl.prepare("sbd", tmp_path / "r2", archive=tgz, keep_archive=False)  # local archive
    assert (root / "benchmark_RELEASE/dataset/train.txt").is_file()
    assert not (root / "benchmark.tgz").exists()
    # the real record's md5 refuses a wrong archive, and leaves no file behind
    monkeypatch.setitem(dl.DATASETS, "sbd", dl.SBD)
    with pytest.raises(dl.DownloadError, match="82b4d87ceb2ed10f6038a1cba92111cb"):
        dl.prepare("sbd", tmp_path / "r3", archive=tgz)
    assert _no_partials(tmp_path / "r3") and not (tmp_path / "r3" / "benchmark.tgz").exists()


def test_records():
    assert dl.VOC2012.md5 == "6cd6e144f989b92b3379bac3b3de84fd"
    assert dl.VOC2012.size == 1_999_639_040
    assert any("pjreddie" in m for m in dl.VOC2012.mirrors)
    assert dl.SBD.md5 == "82b4d87ceb2ed10f6038a1cba92111cb"

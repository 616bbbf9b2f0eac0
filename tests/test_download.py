"""download/extract end to end over a loopback HTTP server (127.0.0.1 only) and local files."""
import contextlib
import hashlib
import http.server
import io
import tarfile
import threading
from pathlib import Path

import pytest

from minifcn.data import download as dl


@contextlib.contextmanager
def _serving(handler):
    """Run ``handler`` on 127.0.0.1 (a random port) in a thread; yield the base URL."""
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    httpd.timeout = 5
    t = threading.Thread(target=httpd.serve_forever, daemon=True)
    t.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()
        t.join(timeout=5)


@pytest.fixture
def server(tmp_path):
    """Serve tmp_path/www on 127.0.0.1; yield it and the base URL."""
    www = tmp_path / "www"
    www.mkdir()

    class Handler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *a, **k):
            super().__init__(*a, directory=str(www), **k)

        def log_message(self, *a):
            pass

    with _serving(Handler) as url:
        yield www, url


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


@pytest.mark.parametrize("reply", [b"garbage\r\n",   # not HTTP: BadStatusLine
                                   b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                                   b"3e8\r\n" + b"a" * 100])   # a chunk cut off: IncompleteRead
def test_a_reply_that_is_not_http_fails_that_mirror_only(tmp_path, reply):
    # http.client's errors are not OSErrors: they had escaped download(), skipping the
    # next mirror and leaving an empty part behind
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.wfile.write(reply)
            self.close_connection = True

        def log_message(self, *a):
            pass

    good = tmp_path / "good.bin"
    good.write_bytes(b"abc")
    dest = tmp_path / "dl" / "a.tar"
    with _serving(Handler) as url:
        got = dl.download([url + "/a.tar", str(good)], dest, md5="900150983CD24FB0D6963F7D28E17F72",
                          timeout=5, progress=False)   # a digest in capitals is the same digest
        assert got.read_bytes() == b"abc" and _no_partials(dest.parent)
        with pytest.raises(dl.DownloadError, match="a.tar"):
            dl.download(url + "/a.tar", tmp_path / "dl2" / "a.tar", timeout=5, progress=False)
    assert _no_partials(tmp_path / "dl2")


@pytest.fixture
def flaky_server():
    """A loopback server of one file that honours byte ranges (or not: ``ranges``) and cuts its
    first answer off after ``cut`` bytes, as a dropped connection does; ``seen`` records each
    request's Range header."""
    state = {"data": b"", "ranges": True, "cut": None, "seen": []}

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            data, asked = state["data"], self.headers.get("Range")
            state["seen"].append(asked)
            start = int(asked[len("bytes="):-1]) if asked and state["ranges"] else 0
            if start >= len(data) > 0:   # past the end: 416, as HTTP says
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{len(data)}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            body = data[start:]
            self.send_response(206 if start else 200)
            if start:
                self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if state["cut"] is not None:   # the connection drops partway, once
                body, state["cut"] = body[:state["cut"]], None
            self.wfile.write(body)

        def log_message(self, *a):
            pass

    with _serving(Handler) as url:
        yield state, url + "/big.tar"


@pytest.mark.parametrize("ranges", [True, False])
def test_a_broken_off_download_resumes_where_the_server_allows(flaky_server, tmp_path, ranges):
    state, url = flaky_server
    data = bytes(range(256)) * 400                       # 102400 bytes
    state.update(data=data, ranges=ranges, cut=30000)
    md5, dest = hashlib.md5(data).hexdigest(), tmp_path / "big.tar"
    with pytest.raises(dl.DownloadError, match="connection closed after 30000 of 102400 bytes"):
        dl.download(url, dest, md5=md5, timeout=5, progress=False)
    part = tmp_path / ".big.tar.part"
    assert not dest.exists() and part.read_bytes() == data[:30000]   # kept for the next try
    assert dl.download(url, dest, md5=md5, timeout=5, progress=False).read_bytes() == data
    assert state["seen"] == [None, "bytes=30000-"] and not part.exists()
    # ranges=False: the server sent the whole file again (200), and it was taken from the start


def test_a_part_past_the_file_s_end_starts_over(flaky_server, tmp_path):
    state, url = flaky_server
    state["data"] = b"small file"
    (tmp_path / ".f.bin.part").write_bytes(b"x" * 50)    # longer than the file: the server says 416
    out = dl.download(url, tmp_path / "f.bin", md5=hashlib.md5(b"small file").hexdigest(),
                      timeout=5, progress=False)
    assert out.read_bytes() == b"small file" and state["seen"] == ["bytes=50-", None]


def test_a_wrong_part_is_dropped_by_the_md5_check(flaky_server, tmp_path):
    state, url = flaky_server
    data = b"the right bytes, all of them"
    state["data"] = data
    (tmp_path / ".g.bin.part").write_bytes(b"WRONG")     # resumed from, so the whole is wrong
    with pytest.raises(dl.DownloadError, match="md5 mismatch"):
        dl.download(url, tmp_path / "g.bin", md5=hashlib.md5(data).hexdigest(), timeout=5,
                    progress=False)
    assert not (tmp_path / ".g.bin.part").exists()       # dropped: the next call starts over
    assert dl.download(url, tmp_path / "g.bin", md5=hashlib.md5(data).hexdigest(), timeout=5,
                       progress=False).read_bytes() == data


def test_local_path_and_file_url(tmp_path):
    src = tmp_path / "src.bin"
    src.write_bytes(b"local")
    md5 = hashlib.md5(b"local").hexdigest()
    assert dl.download(str(src), tmp_path / "o1", md5=md5).read_bytes() == b"local"
    assert dl.download(src.as_uri(), tmp_path / "o2", md5=md5).read_bytes() == b"local"
    with pytest.raises(dl.DownloadError, match="not found"):
        dl.download(str(tmp_path / "nope"), tmp_path / "o3", md5=md5)
    with pytest.raises(dl.DownloadError, match="is a directory: expected the archive file"):
        dl.download(str(tmp_path), tmp_path / "o4", md5=md5)   # had been "not found"
    with pytest.raises(NotADirectoryError, match="root .*src.bin is a file"):   # had been Errno 17
        dl.prepare("voc2012", src, archive=str(src), progress=False)


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
    # the real record's md5 refuses a wrong archive, and leaves no file behind, nor the
    # directory it made for the dataset
    monkeypatch.setitem(dl.DATASETS, "sbd", dl.SBD)
    with pytest.raises(dl.DownloadError, match="82b4d87ceb2ed10f6038a1cba92111cb"):
        dl.prepare("sbd", tmp_path / "r3", archive=tgz)
    assert not (tmp_path / "r3").exists()
    (tmp_path / "r4").mkdir()   # a directory the user made stays
    with pytest.raises(dl.DownloadError, match="82b4d87ceb2ed10f6038a1cba92111cb"):
        dl.prepare("sbd", tmp_path / "r4", archive=tgz)
    assert _no_partials(tmp_path / "r4") and not (tmp_path / "r4" / "benchmark.tgz").exists()


def test_records():
    assert dl.VOC2012.md5 == "6cd6e144f989b92b3379bac3b3de84fd"
    assert dl.VOC2012.size == 1_999_639_040
    assert any("pjreddie" in m for m in dl.VOC2012.mirrors)
    assert dl.SBD.md5 == "82b4d87ceb2ed10f6038a1cba92111cb"

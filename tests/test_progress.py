"""The progress bar is drawn on every terminal, including one that reports 0 columns."""
import os
import subprocess
import sys

import pytest

from minifcn import progress
from minifcn.models import MODEL_NAMES

pty = pytest.importorskip("pty", reason="pseudo-terminals are POSIX-only")

_CHILD = r"""
from minifcn.progress import progress_bar
bar = progress_bar(total=3, desc="train", unit="it", dynamic_ncols=True)
for _ in range(3):
    bar.update(1)
    bar.set_postfix(loss="0.5")
bar.close()
"""


# Runs its arguments as a command whose controlling terminal is its standard input (a pty), so
# that Ctrl-C typed there signals it and job control applies, as in a user's shell. Popen's
# start_new_session makes the session (setsid, in C); this sets the terminal and execs. Not a
# preexec_fn: that is unsafe in a process with threads (minifcn's pool, by then).
_OWN_TERMINAL = ("import fcntl, os, sys, termios; fcntl.ioctl(0, termios.TIOCSCTTY, 0); "
                 "os.execvp(sys.argv[1], sys.argv[1:])")


def _on_own_terminal(cmd):
    return [sys.executable, "-c", _OWN_TERMINAL, *cmd]


def _read_terminal(main, child, done, act=lambda out: None, timeout=120):
    """What ``child`` writes on the pty whose main end is ``main``, read until ``done(out)``,
    the child's end closes or it exits; ``act(out)`` is called before each read (to type)."""
    import select
    import time
    out, deadline = b"", time.monotonic() + timeout
    while time.monotonic() < deadline and not done(out):
        act(out)
        if select.select([main], [], [], 0.5)[0]:
            try:
                out += os.read(main, 4096)
            except OSError:   # the child is gone and its end closed
                break
        elif child.poll() is not None:
            break
    return out


def _run_on_a_terminal(columns):
    """Run ``_CHILD`` on a new pseudo-terminal ``columns`` wide; return what it drew, decoded."""
    import fcntl
    import struct
    import termios
    main, sub = pty.openpty()
    try:
        if columns is not None:  # a pty opened by Python has no size until one is set: 0 x 0
            fcntl.ioctl(sub, termios.TIOCSWINSZ, struct.pack("HHHH", 24, columns, 0, 0))
        assert os.get_terminal_size(sub).columns == (columns or 0)
        child = subprocess.Popen([sys.executable, "-c", _CHILD], stdin=sub, stdout=sub,
                                 stderr=sub, env={**os.environ, "COLUMNS": "", "LINES": ""})
        os.close(sub)
        sub = None
        out = b""
        while True:
            try:
                block = os.read(main, 4096)
            except OSError:  # the child closed its end
                break
            if not block:
                break
            out += block
        assert child.wait(timeout=60) == 0, out.decode(errors="replace")
    finally:
        os.close(main)
        if sub is not None:
            os.close(sub)
    return out.decode(errors="replace")


def _last_line(text):
    return [line for line in text.replace("\r\n", "\r").split("\r") if line.strip()][-1]


def _visible(line):
    """A drawn line without its escape sequences (erase to the end of the line)."""
    import re
    return re.sub(r"\x1b\[[0-9]*[A-Za-z]", "", line)


@pytest.mark.parametrize("columns", [None, 60])
def test_the_bar_is_drawn_with_its_counts(columns):
    # the sizeless terminal (the first case) gets 80 columns: tqdm had drawn nothing at all there
    line = _visible(_last_line(_run_on_a_terminal(columns)))
    assert "3/3" in line and "loss=0.5" in line, line
    assert len(line) < (columns or progress.FALLBACK_COLUMNS), line   # one short of the edge
    bar = line.split("|")[1]
    assert bar and set(bar) == {"\u2588"}, line   # the whole bar drawn


def test_off_a_terminal_a_bar_writes_plain_lines_not_carriage_returns(tmp_path, monkeypatch):
    # a run's output sent to a file: its last line, and one every FILE_INTERVAL seconds
    clock = [0.0]
    monkeypatch.setattr(progress.time, "monotonic", lambda: clock[0])
    with open(tmp_path / "log", "w") as log:
        bar = progress.progress_bar(total=100, desc="train", file=log)
        for _ in range(100):
            clock[0] += 1.0
            bar.update(1)
        bar.close()
        with progress.progress_bar(total=5, desc="val", leave=False, file=log) as val:
            val.update(5)   # a bar that does not stay: no last line
    lines = (tmp_path / "log").read_text().split("\n")
    assert "\r" not in "".join(lines) and "\x1b" not in "".join(lines)
    assert [line.split("|")[-1].split()[0] for line in lines if line] == ["30/100", "60/100", "90/100",
                                                                         "100/100"]


def test_a_bar_opened_under_another_goes_below_it_and_brings_the_cursor_back(monkeypatch):
    # validation under training: drawn one line down, the cursor back on the training bar's
    # line after each drawing, and erased when it closes
    import io
    out = io.StringIO()
    monkeypatch.setattr(progress, "_is_terminal", lambda stream: True)
    train = progress.progress_bar(total=10, desc="train", file=out, ncols=60)
    out.truncate(0), out.seek(0)
    val = progress.progress_bar(total=2, desc="val", file=out, ncols=60, leave=False)
    assert out.getvalue().startswith("\n\r") and out.getvalue().endswith("\x1b[K\x1b[1A")
    out.truncate(0), out.seek(0)
    val.close()
    assert out.getvalue() == "\n\r\x1b[K\x1b[1A"
    out.truncate(0), out.seek(0)
    train.write("val at 5/10: mean IoU 0.5", file=out)   # above the bar, which comes back below
    assert out.getvalue().startswith("\r\x1b[Jval at 5/10: mean IoU 0.5\n\rtrain: ")
    train.close()
    assert out.getvalue().endswith("\n") and progress._shown == []


@pytest.mark.parametrize("model", MODEL_NAMES)
def test_the_training_bar_fits_80_columns_with_room_for_the_bar(model):
    # a run like the main job's (the longest name, bayesian-segnet, leaves the bar 7 columns),
    # and one of 10000 iterations an hour in, whose longer count and times leave it 2
    for (n, total, elapsed), least in [((171, 600, 115.0), 6), ((9171, 10000, 3900.0), 2)]:
        line = progress.format_meter(n, total, elapsed, ncols=80, prefix=model,
                                 bar_format=progress.STEP_FORMAT,
                                 postfix=progress.step_postfix(0.05123, 1e-3, 12.96))
        assert len(line) <= 80 and line.endswith("loss 0.0512, lr 0.001, 13 img/s]"), line
        bar = line[line.index("|") + 1:line.rindex("|")]
        assert len(bar) >= least and bar[0] == "\u2588", line   # its first block drawn


def test_ctrl_c_echo_is_turned_off_and_back_on_a_terminal():
    import termios
    main, sub = pty.openpty()
    try:
        with os.fdopen(os.dup(sub), "r") as stream:
            assert termios.tcgetattr(sub)[3] & termios.ECHOCTL   # a new pty echoes ^C
            restore = progress.quiet_ctrl_c_echo(stream)
            assert not termios.tcgetattr(sub)[3] & termios.ECHOCTL
            restore()
            assert termios.tcgetattr(sub)[3] & termios.ECHOCTL
    finally:
        os.close(main)
        os.close(sub)


def test_ctrl_c_echo_is_left_alone_off_a_terminal(tmp_path):
    with open(tmp_path / "f", "w") as stream:    # a file has no echo to change: no error either
        progress.quiet_ctrl_c_echo(stream)()


def test_ctrl_c_on_a_terminal_leaves_no_echo_and_the_terminal_as_it_was(tmp_path):
    # the real thing: Ctrl-C typed on the terminal a training run draws on, as a user does
    import fcntl
    import struct
    import termios
    main, sub = pty.openpty()
    fcntl.ioctl(sub, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))

    args = ["train", "--model", "segnet-basic", "--image-size", "32", "--num-train", "8",
            "--num-val", "4", "--batch-size", "2", "--iters", "100000", "--val-every", "50000",
            "--data-root", str(tmp_path / "synthetic"), "--out", str(tmp_path / "run")]
    child = subprocess.Popen(_on_own_terminal([sys.executable, "-m", "minifcn", *args]), stdin=sub,
                             stdout=sub, stderr=sub, start_new_session=True)
    pressed = []

    def press_once_running(out):
        if not pressed and b"segnet-basic |" in out:   # the loop runs: press Ctrl-C
            os.write(main, b"\x03")
            pressed.append(True)
    try:
        out = _read_terminal(main, child, lambda out: False, press_once_running)
        code = child.wait(timeout=60)
        text = out.decode(errors="replace")
        assert pressed and code == 130, text
        assert "Ctrl-C: finishing this iteration" in text and "checkpoint written" in text
        assert "^C" not in text                                   # the echo was off ...
        assert termios.tcgetattr(sub)[3] & termios.ECHOCTL        # ... and is back on
    finally:
        if child.poll() is None:
            child.kill()
        os.close(main)
        os.close(sub)


def test_a_training_run_sent_to_the_background_is_not_stopped_by_its_terminal(tmp_path):
    # `minifcn train &` from a shell with job control: the terminal is the shell's, and a
    # background process that changes its settings is stopped (SIGTTOU) until brought back
    import shlex
    import shutil
    bash = shutil.which("bash")
    if bash is None:
        pytest.skip("needs bash for its job control")
    main, sub = pty.openpty()

    train = [sys.executable, "-m", "minifcn", "train", "--model", "segnet-basic", "--image-size",
             "32", "--num-train", "8", "--num-val", "4", "--batch-size", "2", "--iters", "3",
             "--data-root", str(tmp_path / "synthetic"), "--out", str(tmp_path / "run")]
    # wait returns when the job ends or is stopped (128 + SIGTTOU's number)
    script = f"set -m; {shlex.join(train)} & pid=$!; wait $pid; rc=$?; kill -9 $pid 2>/dev/null; echo exit=$rc"
    child = subprocess.Popen(_on_own_terminal([bash, "-c", script]), stdin=sub, stdout=sub,
                             stderr=sub, start_new_session=True)
    try:
        out = _read_terminal(main, child, lambda out: b"exit=" in out)
        child.wait(timeout=60)
        assert "exit=0" in out.decode(errors="replace"), out.decode(errors="replace")
    finally:
        if child.poll() is None:
            child.kill()
        os.close(main)
        os.close(sub)


def test_a_run_stopped_with_ctrl_z_and_continued_in_the_background_puts_the_echo_back(tmp_path):
    # Ctrl-Z while the loop runs (its echo off), then `bg`: the run ends in the background, where
    # changing the terminal would stop it (SIGTTOU) unless the restore ignores that signal
    import shlex
    import shutil
    bash = shutil.which("bash")
    if bash is None:
        pytest.skip("needs bash for its job control")
    main, sub = pty.openpty()
    train = [sys.executable, "-m", "minifcn", "train", "--model", "segnet-basic", "--width", "1/16",
             "--image-size", "32", "--num-train", "8", "--num-val", "4", "--batch-size", "2",
             "--iters", "400", "--val-every", "100000", "--data-root", str(tmp_path / "synthetic"),
             "--out", str(tmp_path / "run")]
    # the run in the foreground; once stopped (148: 128 + SIGTSTP), continued in the background
    # and waited for (150 if SIGTTOU stopped it); then the terminal's echo setting
    script = (f"set -m; {shlex.join(train)}; stopped=$?; bg %1 >/dev/null; wait %1; rc=$?; "
              "kill -9 %1 2>/dev/null; echo; stty -a | grep -o -- '-\\?echoctl'; "
              "echo exit=$stopped/$rc")
    child = subprocess.Popen(_on_own_terminal([bash, "-c", script]), stdin=sub, stdout=sub,
                             stderr=sub, start_new_session=True)
    pressed = []

    def press_once_running(out):
        if not pressed and b"segnet-basic |" in out:   # the loop runs: stop it
            os.write(main, b"\x1a")
            pressed.append(True)
    try:
        out = _read_terminal(main, child, lambda out: b"exit=" in out and out.endswith(b"\n"),
                             press_once_running).decode(errors="replace")
        child.wait(timeout=60)
        assert pressed and "exit=148/0" in out, out
        assert "\r\nechoctl\r\n" in out, out       # the echo is back on, not -echoctl
    finally:
        if child.poll() is None:
            child.kill()
        os.close(main)
        os.close(sub)


def test_no_module_of_the_package_needs_tqdm():
    # the runtime dependencies are numpy, pillow and matplotlib; tqdm, once the bar, is gone
    code = ("import sys, pkgutil, importlib; sys.modules['tqdm'] = None; import minifcn; "
            "[importlib.import_module(m.name) for m in pkgutil.walk_packages(minifcn.__path__, 'minifcn.')]; "
            "from minifcn.progress import progress_bar; bar = progress_bar(total=2); bar.update(2); bar.close()")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and "2/2" in r.stderr, r.stderr


class _FakeConsole:
    """kernel32's console-mode calls, for a console in ``mode`` (None: no console)."""

    def __init__(self, mode, settable=True):
        self.mode, self.settable, self.set = mode, settable, []

    def GetConsoleMode(self, handle, ref):
        if self.mode is None:
            return 0
        ref._obj.value = self.mode   # ref: ctypes.byref(c_uint32)
        return 1

    def SetConsoleMode(self, handle, mode):
        self.set.append(mode)
        return int(self.settable)


def _on_windows(monkeypatch, console):
    import ctypes
    import sys
    import types
    monkeypatch.setitem(sys.modules, "msvcrt", types.SimpleNamespace(get_osfhandle=lambda fd: 1000 + fd))
    monkeypatch.setattr(ctypes, "windll", types.SimpleNamespace(kernel32=console), raising=False)


def test_windows_console_is_asked_to_draw_escape_sequences(monkeypatch):
    # cmd.exe's console prints ESC [ K as "<-[K" unless the program turns on its VT mode
    console = _FakeConsole(0x0003)
    _on_windows(monkeypatch, console)
    assert progress._windows_vt(2) and console.set == [0x0007]
    console = _FakeConsole(0x0007)             # on already (Windows Terminal): left as it is
    _on_windows(monkeypatch, console)
    assert progress._windows_vt(2) and console.set == []
    for console in (_FakeConsole(None), _FakeConsole(0x0003, settable=False)):   # no console; too old
        _on_windows(monkeypatch, console)
        assert not progress._windows_vt(2)


def test_a_windows_console_without_escape_sequences_gets_plain_lines(monkeypatch):
    import io
    leader, follower = pty.openpty()
    with open(follower, "w", closefd=True) as tty:
        assert progress._is_terminal(tty)
        monkeypatch.setattr(progress.os, "name", "nt")
        monkeypatch.setattr(progress, "_windows_vt", lambda fd: False)
        assert not progress._is_terminal(tty)
        monkeypatch.setattr(progress, "_windows_vt", lambda fd: True)
        assert progress._is_terminal(tty)
        monkeypatch.undo()
    os.close(leader)
    assert not progress._windows_vt(0)          # here: no msvcrt, no windll
    assert not progress._is_terminal(io.StringIO())

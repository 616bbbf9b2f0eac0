"""The progress bar is drawn on every terminal, including one that reports 0 columns."""
import os
import subprocess
import sys

import pytest

from minifcn import progress

pty = pytest.importorskip("pty", reason="pseudo-terminals are POSIX-only")

_CHILD = r"""
from minifcn.progress import progress_bar
bar = progress_bar(total=3, desc="train", unit="it", dynamic_ncols=True)
for _ in range(3):
    bar.update(1)
    bar.set_postfix(loss="0.5")
bar.close()
"""


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


@pytest.mark.parametrize("columns", [None, 60])
def test_the_bar_is_drawn_with_its_counts(columns):
    # tqdm alone draws nothing at all on the sizeless terminal (the first case)
    line = _last_line(_run_on_a_terminal(columns))
    assert "3/3" in line and "loss=0.5" in line, line
    assert len(line) <= (columns or progress.FALLBACK_COLUMNS), line


def test_only_a_terminal_of_zero_columns_gets_a_fixed_width(tmp_path):
    main, sub = pty.openpty()
    try:
        with open(sub, "w", closefd=False) as terminal:
            assert progress.fixed_width(terminal) == progress.FALLBACK_COLUMNS
        with open(tmp_path / "log", "w") as log:  # a file: tqdm's own default width
            assert progress.fixed_width(log) is None
    finally:
        os.close(main)
        os.close(sub)

"""The progress bars of training and downloads: tqdm, with one width rule of our own.

tqdm sizes its bar from the terminal it writes to. A terminal can report a size of 0 x 0: a
pseudo-terminal opened without one (Python's ``pty``, some ``docker run -t`` sessions before
their first resize). tqdm then draws nothing at all, not even the counts: a bar below the
screen's last row is hidden, and this screen has none. So where the terminal says 0 columns,
the bar is drawn for an 80 x 24 screen, as ``shutil.get_terminal_size`` would assume.

>>> bar = progress_bar(total=3, disable=True)
>>> bar.update(3); bar.close()
"""
from __future__ import annotations

import os
import sys

FALLBACK_COLUMNS, FALLBACK_ROWS = 80, 24


def fixed_width(stream=None) -> int | None:
    """``FALLBACK_COLUMNS`` where ``stream`` is a terminal that reports 0 columns, else None.

    None leaves the width to tqdm: the terminal's own, followed as it is resized, or tqdm's
    default where the stream is no terminal (a file, a pipe).
    """
    stream = sys.stderr if stream is None else stream
    try:
        columns = os.get_terminal_size(stream.fileno()).columns
    except (AttributeError, ValueError, OSError):  # no descriptor, closed, or not a terminal
        return None
    return FALLBACK_COLUMNS if columns <= 0 else None


def progress_bar(**kwargs):
    """A ``tqdm`` bar on stderr with ``kwargs``, drawn even on a terminal 0 columns wide."""
    from tqdm import tqdm
    width = fixed_width(kwargs.get("file"))
    if width is not None:
        kwargs.update(ncols=width, nrows=FALLBACK_ROWS, dynamic_ncols=False)
    return tqdm(**kwargs)

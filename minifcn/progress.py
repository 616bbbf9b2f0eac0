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

#: The training bar: tqdm's default, less its percentage (the count says it) and its ``it/s``
#: (the postfix's images a second say it), so that model, count, times, loss, learning rate
#: and speed fit 80 columns with room for the bar, for every model name:
#: ``fcn8s |█████▉                | 171/600 [01:55<04:48, loss 0.355, lr 0.05, 13 img/s]``
STEP_FORMAT = "{desc} |{bar}| {n_fmt}/{total_fmt} [{elapsed}<{remaining}{postfix}]"


def step_postfix(loss: float, lr: float, images_per_s: float) -> str:
    """The training bar's postfix: loss and speed to three significant digits, the rate to
    two (short, and enough to see a trend).

    >>> step_postfix(0.3551, 0.05, 12.96)
    'loss 0.355, lr 0.05, 13 img/s'
    """
    return f"loss {loss:.3g}, lr {lr:.2g}, {images_per_s:.3g} img/s"


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


def quiet_ctrl_c_echo(stream=None):
    """Have the terminal of ``stream`` (default stdin) stop echoing ``^C``; returns the call that
    puts its setting back (a no-op where there is nothing to change).

    A terminal echoes Ctrl-C as ``^C`` where its cursor is: after a progress bar that fills the
    line, the ``C`` wraps onto the next one, and the bar then redrawn leaves a half-drawn copy
    behind. The training loop, which answers Ctrl-C itself, turns the echo off while it runs
    (the terminal's ``ECHOCTL`` flag; POSIX terminals only). Not from a background job
    (``minifcn train &``): the terminal is the shell's then, and changing it would stop the
    process (``SIGTTOU``). Putting it back works from the background too (Ctrl-Z, ``bg``).

    >>> import io
    >>> quiet_ctrl_c_echo(io.StringIO())()       # no terminal: nothing changed, nothing to undo
    """
    try:
        import termios
    except ImportError:   # Windows: no such setting
        return lambda: None
    try:
        fd = (sys.stdin if stream is None else stream).fileno()
        if not os.isatty(fd) or not _in_foreground(fd):
            return lambda: None
        before = termios.tcgetattr(fd)
        quiet = list(before)
        quiet[3] = before[3] & ~termios.ECHOCTL   # [3]: the local modes
        termios.tcsetattr(fd, termios.TCSANOW, quiet)
    except (AttributeError, ValueError, OSError, termios.error):   # no descriptor, closed, ...
        return lambda: None

    def restore():
        import signal
        try:   # SIGTTOU ignored: a job sent to the background meanwhile is not stopped by this
            ttou = signal.signal(signal.SIGTTOU, signal.SIG_IGN)
        except (AttributeError, ValueError):   # no such signal, or not the main thread
            ttou = None
        try:
            termios.tcsetattr(fd, termios.TCSANOW, before)
        except (termios.error, OSError):   # the terminal went away meanwhile
            pass
        finally:
            if ttou is not None:
                signal.signal(signal.SIGTTOU, ttou)
    return restore


def _in_foreground(fd) -> bool:
    """Whether this process's group owns the terminal ``fd`` (False: a background job). A
    terminal that is not this process's controlling one has no job control: True."""
    try:
        return os.tcgetpgrp(fd) == os.getpgrp()
    except OSError:
        return True

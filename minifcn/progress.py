"""The progress bars of training and downloads, and the terminal's ``^C`` echo around them.

A bar is one line, redrawn in place (a carriage return, then the line, then "erase to the end
of the line") at most every ``MIN_INTERVAL`` seconds:

``fcn8s |█████▏            | 171/600 [01:55<04:48, loss 0.355, lr 0.05, 13 img/s]``

Its width follows the terminal's as it is resized. A terminal can report 0 columns (a
pseudo-terminal opened without a size: Python's ``pty``, some ``docker run -t`` sessions before
their first resize); the bar is then drawn for ``FALLBACK_COLUMNS``, as
``shutil.get_terminal_size`` would assume. A bar opened while another is shown (validation
during training) goes on the line below it, and the cursor always returns to the first bar's
line, so ``write`` (a line of text above the bars) and a Ctrl-C message know where they are.
Off a terminal (a file, a pipe) a bar writes one plain line every ``FILE_INTERVAL`` seconds and,
unless it does not stay (``leave=False``), its last one when it closes: not hundreds of carriage
returns. On Windows the console is asked to draw the escape sequences (its VT mode, Windows 10
and later); a console that cannot gets the plain lines too, not "<-[K" after every redraw.

>>> import io
>>> out = io.StringIO()
>>> bar = progress_bar(total=3, desc="val", unit="batch", file=out)
>>> for _ in range(3):
...     bar.update(1)
>>> bar.close()
>>> out.getvalue().startswith("val: 100%|")   # off a terminal: the last line only
True
>>> print(format_meter(171, 600, 115.0, 79, prefix="fcn8s", bar_format=STEP_FORMAT,
...                    postfix="loss 0.355, lr 0.05, 13 img/s"))
fcn8s |█████▏            | 171/600 [01:55<04:48, loss 0.355, lr 0.05, 13 img/s]
"""
from __future__ import annotations

import os
import sys
import time

FALLBACK_COLUMNS = 80
MIN_INTERVAL = 0.1      # s between redraws on a terminal
FILE_INTERVAL = 30.0    # s between lines off a terminal

#: The training bar: the default, less its percentage (the count says it) and its rate (the
#: postfix's images a second say it), so that model, count, times, loss, learning rate and
#: speed fit 80 columns with room for the bar, for every model name.
STEP_FORMAT = "{desc} |{bar}| {n_fmt}/{total_fmt} [{elapsed}<{remaining}{postfix}]"
#: Every other bar: ``val:  40%|████      | 2/5 [00:01<00:01, 2.01batch/s]``.
DEFAULT_FORMAT = "{desc}: {percentage:3.0f}%|{bar}| {n_fmt}/{total_fmt} [{elapsed}<{remaining}, {rate_fmt}{postfix}]"
# the eighths of a cell, for the bar's last, partly filled one
_BLOCKS = " \u258f\u258e\u258d\u258c\u258b\u258a\u2589\u2588"
_ASCII_BLOCKS = " 1234567#"   # where the stream cannot encode them
_ERASE_LINE, _ERASE_DOWN = "\x1b[K", "\x1b[J"


def step_postfix(loss: float, lr: float, images_per_s: float) -> str:
    """The training bar's postfix: loss and speed to three significant digits, the rate to
    two (short, and enough to see a trend).

    >>> step_postfix(0.3551, 0.05, 12.96)
    'loss 0.355, lr 0.05, 13 img/s'
    """
    return f"loss {loss:.3g}, lr {lr:.2g}, {images_per_s:.3g} img/s"


def format_interval(seconds: float) -> str:
    """``MM:SS``, or ``H:MM:SS`` from an hour on.

    >>> format_interval(115), format_interval(3900)
    ('01:55', '1:05:00')
    """
    m, s = divmod(int(seconds), 60)
    h, m = divmod(m, 60)
    return f"{h:d}:{m:02d}:{s:02d}" if h else f"{m:02d}:{s:02d}"


def format_size(x: float) -> str:
    """A count in three significant figures with an SI prefix (bytes of a download).

    >>> format_size(999), format_size(12_345_678), format_size(2.5e9)
    ('999', '12.3M', '2.50G')
    """
    for prefix in ("", "k", "M", "G", "T"):
        if abs(x) < 999.5:
            break
        x /= 1000
    if not prefix or abs(x) >= 99.95:
        return f"{x:.0f}{prefix}"
    return f"{x:.1f}{prefix}" if abs(x) >= 9.995 else f"{x:.2f}{prefix}"


def format_meter(n, total, elapsed, ncols, prefix="", bar_format=None, postfix="", unit="it",
                 unit_scale=False, initial=0, ascii=False) -> str:
    """The bar's line, at most ``ncols`` characters: ``bar_format``'s fields filled in
    (``desc``, ``n_fmt``, ``total_fmt``, ``percentage``, ``elapsed``, ``remaining``,
    ``rate_fmt``, ``postfix``: ", " and the postfix, or nothing), then ``{bar}`` given what is
    left; with no ``total``, the count, the time and the rate alone. The rate counts the
    ``n - initial`` steps of this ``elapsed`` (a resumed run's earlier steps took another
    process's time).

    >>> format_meter(12_345_678, None, 10.0, 79, "VOC.tar", unit="B", unit_scale=True)
    'VOC.tar: 12.3M [00:10, 1.23MB/s]'
    """
    fmt = DEFAULT_FORMAT if bar_format is None else bar_format
    done = n - initial
    rate = done / elapsed if elapsed > 0 and done > 0 else None
    size = format_size if unit_scale else (lambda v: f"{int(v)}" if float(v).is_integer() else f"{v:.3g}")
    if rate is None:
        rate_fmt = f"?{unit}/s"
    elif rate < 1 and not unit_scale:   # slow steps: seconds a step
        rate_fmt = f"{1 / rate:.3g}s/{unit}"
    else:
        rate_fmt = f"{format_size(rate) if rate >= 999.5 else f'{rate:.3g}'}{unit}/s"
    remaining = "?" if total is None or rate is None else format_interval(max(total - n, 0) / rate)
    fields = dict(desc=prefix, n_fmt=size(n), total_fmt="?" if total is None else size(total),
                  percentage=0.0 if not total else 100.0 * n / total, elapsed=format_interval(elapsed),
                  remaining=remaining, rate_fmt=rate_fmt, postfix=f", {postfix}" if postfix else "")
    if total is None:   # no end to measure against: the count, the time and the rate
        fmt = "{desc}: {n_fmt} [{elapsed}, {rate_fmt}{postfix}]"
    if not prefix and fmt.startswith("{desc}: "):
        fmt = fmt[len("{desc}: "):]
    head, _, tail = fmt.partition("{bar}")
    head, tail = head.format(**fields), tail.format(**fields)
    cells = ncols - len(head) - len(tail)
    if "{bar}" not in fmt:
        return head[:ncols]
    if cells <= 0:   # no room for a bar
        return (head + tail)[:ncols]
    blocks = _ASCII_BLOCKS if ascii else _BLOCKS
    eighths = int(min(max(n / total, 0.0), 1.0) * cells * 8) if total else 0
    full, part = divmod(eighths, 8)
    bar = blocks[-1] * full + (blocks[part] if full < cells else "")
    return head + bar.ljust(cells) + tail


_shown = []   # the bars on the terminal, top to bottom; the cursor rests on the first one's line


class ProgressBar:
    """A progress bar on ``file`` (default stderr); see the module doc.

    ``total`` steps (None: unknown), counted from ``initial``; ``desc`` names it; ``unit`` and
    ``unit_scale`` (SI prefixes, for bytes) say what a step is; ``leave=False`` erases it when
    closed; ``disable`` draws nothing; ``ncols`` fixes its width, as does ``dynamic_ncols=False``
    at the terminal's first one; ``bar_format`` as :func:`format_meter`'s. Also a context
    manager that closes it.
    """

    def __init__(self, total=None, initial=0, desc="", unit="it", unit_scale=False, leave=True,
                 disable=False, file=None, ncols=None, dynamic_ncols=True, bar_format=None):
        self.total, self.n, self.initial = total, initial, initial
        self.desc, self.unit, self.unit_scale = desc or "", unit, unit_scale
        self.leave, self.ncols, self.bar_format = leave, ncols, bar_format
        self.file = sys.stderr if file is None else file
        self.postfix = ""
        self.start = self._last_draw = time.monotonic()
        self.closed = disable
        self.terminal = not disable and _is_terminal(self.file)
        if self.terminal and not dynamic_ncols and not ncols:
            self.ncols = self._width()
        encoding = (getattr(self.file, "encoding", None) or "utf-8").lower()
        self.ascii = not encoding.startswith("utf")   # no block characters to draw with
        if self.terminal:
            _shown.append(self)
            self._draw()

    # -- counting
    def update(self, n=1):
        """``n`` more steps done; redrawn if ``MIN_INTERVAL`` (``FILE_INTERVAL``) has passed."""
        if self.closed:
            return
        self.n += n
        now = time.monotonic()
        if self.terminal and (now - self._last_draw >= MIN_INTERVAL or self.n == self.total):
            self._draw(now)
        elif not self.terminal and now - self._last_draw >= FILE_INTERVAL:
            self._print_line(now)

    def set_postfix_str(self, s="", refresh=True):
        """Text after the times (the training loss, rate and speed)."""
        self.postfix = str(s)
        if refresh and self.terminal and not self.closed:
            self._draw()

    def set_postfix(self, refresh=True, **values):
        """``key=value`` pairs after the times."""
        self.set_postfix_str(", ".join(f"{k}={v}" for k, v in values.items()), refresh)

    def write(self, line, file=None):
        """``line`` on ``file`` (default stdout: a result, not progress) above the bars, which
        are erased first and drawn again below it."""
        shown = self.terminal and not self.closed
        if shown:
            self.file.write("\r" + _ERASE_DOWN)
            self.file.flush()
        out = sys.stdout if file is None else file
        out.write(str(line) + "\n")
        out.flush()
        if shown:
            for bar in list(_shown):
                bar._draw()

    def close(self):
        """The last drawing (kept, or erased with ``leave=False``); the cursor goes below a
        kept first bar."""
        if self.closed:
            return
        self.closed = True
        if self.terminal:
            position = _shown.index(self)
            if self.leave:
                self._draw(position=position)
            else:
                self._put("\r" + _ERASE_LINE, position)
            _shown.remove(self)
            if self.leave and position == 0:
                self.file.write("\n")
                self.file.flush()
        elif self.leave:
            self._print_line()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    # -- drawing
    def _line(self, width, now=None):
        elapsed = (time.monotonic() if now is None else now) - self.start
        return format_meter(self.n, self.total, elapsed, width, self.desc, self.bar_format,
                            self.postfix, self.unit, self.unit_scale, self.initial, self.ascii)

    def _width(self):
        if self.ncols:
            return int(self.ncols)
        try:
            columns = os.get_terminal_size(self.file.fileno()).columns
        except (AttributeError, ValueError, OSError):
            columns = 0
        # one short of the edge: a line that fills it leaves some terminals about to wrap
        return (columns or FALLBACK_COLUMNS) - 1

    def _draw(self, now=None, position=None):
        self._last_draw = time.monotonic() if now is None else now
        position = _shown.index(self) if position is None else position
        self._put("\r" + self._line(self._width(), now) + _ERASE_LINE, position)

    def _put(self, text, position):
        """``text`` on the line ``position`` rows below the first bar's; back there after."""
        down, up = ("\n" * position, f"\x1b[{position}A") if position else ("", "")
        self.file.write(down + text + up)
        self.file.flush()

    def _print_line(self, now=None):
        self._last_draw = time.monotonic() if now is None else now
        self.file.write(self._line(FALLBACK_COLUMNS, now) + "\n")
        self.file.flush()


def _is_terminal(stream) -> bool:
    """Whether ``stream`` is a terminal that draws the bar's escape sequences; off one, a bar
    writes plain lines. Windows' console draws them only once asked to (:func:`_windows_vt`)."""
    try:
        if not os.isatty(stream.fileno()):
            return False
    except (AttributeError, ValueError, OSError):   # no descriptor (StringIO), or closed
        return False
    return os.name != "nt" or _windows_vt(stream.fileno())


# ENABLE_VIRTUAL_TERMINAL_PROCESSING, the console mode (Windows 10 and later) in which the
# console interprets ESC [ sequences; without it cmd.exe's console prints them: "<-[K"
_WINDOWS_VT = 0x0004


def _windows_vt(fd: int) -> bool:
    """Have the Windows console behind ``fd`` interpret escape sequences, as Windows Terminal
    always does; False where it cannot (Windows before 10, or no console behind ``fd``)."""
    try:
        import ctypes
        import msvcrt
        kernel32 = ctypes.windll.kernel32
        handle = msvcrt.get_osfhandle(fd)
        mode = ctypes.c_uint32()
        if not kernel32.GetConsoleMode(handle, ctypes.byref(mode)):
            return False
        return bool(mode.value & _WINDOWS_VT or kernel32.SetConsoleMode(handle, mode.value | _WINDOWS_VT))
    except (ImportError, AttributeError, OSError, ValueError):   # not Windows: no msvcrt, windll
        return False


def progress_bar(**kwargs) -> ProgressBar:
    """A :class:`ProgressBar` with ``kwargs``."""
    return ProgressBar(**kwargs)


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

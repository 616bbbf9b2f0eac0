"""Shared plumbing for the lessons: fast mode, where figures go, and saving them.

``MINIFCN_FAST=1`` makes every lesson use smaller sizes and fewer iterations (CI runs them so).
``MINIFCN_FIGURES=dir`` sends the figures to ``dir`` (default ``lessons/figures/``, git-ignored).
"""
from __future__ import annotations

import os
import time
from contextlib import contextmanager
from pathlib import Path

import matplotlib

if not os.environ.get("MPLBACKEND") and not os.environ.get("DISPLAY"):
    matplotlib.use("Agg")  # headless: write files, open no window
import matplotlib.pyplot as plt  # noqa: E402

FAST = os.environ.get("MINIFCN_FAST", "0").strip().lower() not in ("", "0", "false", "no")
FIGURES = Path(os.environ.get("MINIFCN_FIGURES") or Path(__file__).resolve().parent / "figures")


def save(fig, name: str) -> Path:
    """Save ``fig`` as ``FIGURES/name`` (PNG), close it, print and return the path."""
    FIGURES.mkdir(parents=True, exist_ok=True)
    path = FIGURES / name
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)
    print(f"figure: {path}")
    return path


@contextmanager
def timer(result: dict, key: str):
    """Store the wall-clock seconds of the ``with`` block in ``result[key]``."""
    t0 = time.perf_counter()
    yield
    result[key] = time.perf_counter() - t0


def best_time(fn, repeat: int = 3) -> float:
    """The fastest of ``repeat`` runs of ``fn()`` in seconds (the least disturbed by other load)."""
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best

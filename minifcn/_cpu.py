"""What the CPU is, read before NumPy loads (so: no NumPy here), for the BLAS settings that
:mod:`minifcn` makes at import (see ``minifcn/__init__.py``).

>>> is_zen4("vendor_id : AuthenticAMD\\ncpu family : 25\\nflags : fpu avx2 avx512f\\n")
True
>>> is_zen4("vendor_id : GenuineIntel\\ncpu family : 6\\nflags : fpu avx2 avx512f\\n")
False
"""
from __future__ import annotations


def first_cpu(text: str) -> dict:
    """The ``key : value`` entries of the first processor in a ``/proc/cpuinfo`` text."""
    info = {}
    for line in text.splitlines():
        if not line.strip():
            if info:
                break   # the first processor's block ends at its blank line
            continue
        key, sep, value = line.partition(":")
        if sep:
            info.setdefault(key.strip(), value.strip())
    return info


def is_zen4(cpuinfo: str | None = None) -> bool:
    """Whether the CPU is AMD's Zen 4: family 25 (0x19, Zen 3 and Zen 4) with AVX-512, which only
    Zen 4 has. ``cpuinfo``: the text of ``/proc/cpuinfo`` (read when not given; False where
    there is none, as off Linux)."""
    if cpuinfo is None:
        try:
            with open("/proc/cpuinfo") as f:
                cpuinfo = f.read(1 << 16)
        except OSError:
            return False
    info = first_cpu(cpuinfo)
    return (info.get("vendor_id") == "AuthenticAMD" and info.get("cpu family") == "25"
            and "avx512f" in info.get("flags", "").split())

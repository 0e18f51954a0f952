"""Kernel names for the threads that do an ingest's work, so /proc can tell them apart.

Why: Python 3.11 names its threads for Python only; the kernel sees every one as the
process's name ("python"), and so did the benchmark (`bench/ingest.py`), which booked
every thread it could not name -- torch's OpenMP workers, but also the RDF view's bulk
loader -- as the model's. Linux gives a new thread its creator's kernel name, so
naming the thread that starts other work names that work too: torch's OpenMP workers
started by the embed thread, and pyoxigraph's bulk-loader threads (unnamed Rust
threads, checked: they read "ig-rdf-load" when the loading thread is so named).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys

#: ``prctl`` option that sets the calling thread's name (linux/prctl.h).
_PR_SET_NAME = 15
#: The kernel keeps 15 bytes of a thread's name (16 with the terminating NUL).
NAME_BYTES = 15

_prctl = None
if sys.platform.startswith("linux"):
    try:
        _prctl = ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True).prctl
    except (OSError, AttributeError):  # no libc to hand: names stay Python's only
        _prctl = None


def set_kernel_name(name: str) -> bool:
    """Give the calling thread ``name`` (cut to `NAME_BYTES` bytes) in the kernel, as
    /proc/self/task/*/comm shows it. Returns whether it could (Linux only); never the
    main thread's job (its name is the process's, which ``ps`` shows)."""
    if _prctl is None:
        return False
    raw = name.encode("ascii", "replace")[:NAME_BYTES]
    return _prctl(_PR_SET_NAME, ctypes.c_char_p(raw), 0, 0, 0) == 0

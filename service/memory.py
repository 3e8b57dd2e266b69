"""Process-wide allocator settings for long-lived in-memory indexes."""

from __future__ import annotations

import ctypes
import ctypes.util
import gc

_M_MMAP_THRESHOLD = -3
_THRESHOLD = 128 * 1024


def return_freed_arrays() -> None:
    """Make glibc give freed blocks of 128 KiB or more back to the system at once.

    The dedup index replaces numpy arrays of megabytes as it grows. After the first
    such free, glibc raises its mmap threshold, so later blocks of that size come from
    the heap and stay resident once freed: 1,400 instead of 990 bytes of RSS per held
    article (`bench/dedup_benchmark.py --index-size`). A fixed threshold stops that.
    Elsewhere than glibc this does nothing.
    """
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.mallopt(_M_MMAP_THRESHOLD, _THRESHOLD)
    except (OSError, AttributeError):
        pass


def freeze_startup_objects() -> None:
    """Move everything allocated so far (models, lexicons, the app's wiring) out of the
    cyclic collector's view: they live as long as the process, and each full collection
    walked them all again (47-57 ms pauses in a worker, measured with `gc.callbacks`)."""
    gc.collect()
    gc.freeze()

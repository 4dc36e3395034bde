"""glibc's malloc held to two arenas in the threaded processes manage.py starts."""

import ctypes
import os
import sys

# glibc's malloc.h; the environment's MALLOC_ARENA_MAX, when set, is left to win.
M_ARENA_MAX = -8
SERVER_ARENAS = 2


def limit_malloc_arenas(arenas: int = SERVER_ARENAS) -> bool:
    """Whether glibc took the limit: arenas made later (by threads started after) count.

    glibc gives a thread that finds its arena locked another one, up to 8 per core, and each
    keeps its own freed memory: with two, `serve` at the seed's load held 0.8 MiB less.
    Python allocates under the GIL, and its small objects in pymalloc's arenas, so threads
    seldom wait for one. Elsewhere (macOS, musl) nothing is done.
    """
    if not sys.platform.startswith("linux") or "MALLOC_ARENA_MAX" in os.environ:
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt  # the C library the interpreter runs on
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    return bool(mallopt(M_ARENA_MAX, arenas))

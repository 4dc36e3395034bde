"""The start-up heap moved out of the cyclic collector's full collections, once per process."""

import gc
import logging
import time

logger = logging.getLogger(__name__)

_frozen = False


def heap_freeze() -> bool:
    """Collect once, then freeze every object alive: whether this call froze (once a process).

    A full collection walks every tracked object. A server's start-up leaves over 100,000 of
    them (Django, DRF, the models, pydantic's schemas), which live as long as the process,
    and walking them took 60-110 ms of one core here: one such pause in an order's way was
    the order path's p99. Frozen, they are left out of every collection; what the process
    makes after start (sockets, orders, caches) is collected as before. Cycles of frozen
    objects are never freed, so the garbage is collected first, and a process freezes once,
    when it has imported what it serves with.
    """
    global _frozen
    if _frozen:
        return False
    _frozen = True
    started = time.perf_counter()
    gc.collect()
    gc.freeze()
    logger.info(
        "heap frozen: %d objects out of the collector's walks (%.0f ms)",
        gc.get_freeze_count(),
        (time.perf_counter() - started) * 1000,
    )
    return True


def heap_freeze_on_signal(**_: object) -> None:
    """trading.signals.process_started: a worker, market or broker-stream process is up."""
    heap_freeze()

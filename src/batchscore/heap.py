"""Garbage-collector settings for a long-running server process.

What is made while starting (modules, the app with its routes and schemas, SQLAlchemy's and
numpy's structures) lives as long as the process, yet every full collection walks all of it,
and a collection stops every request for as long as it takes. Under load that pause was the
API's p99 (``bench/load.py``, see ``bench/RESULTS.md``). :func:`settle` moves the objects
alive at startup out of the collector's sight (``gc.freeze``) and makes collections rarer;
cyclic garbage made later is still collected.
"""

from __future__ import annotations

import gc

FIRST_GENERATION = 50_000
"""Allocations between young-generation collections (CPython's default is 700)."""


def settle() -> None:
    """Collect once, freeze what survives, and raise the young generation's threshold. Call
    when the process is ready to serve, after everything long-lived is built."""
    gc.collect()
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(FIRST_GENERATION, middle, old)

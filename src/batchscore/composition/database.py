"""The database as the commands open it: migrated, its driver's errors already translated at
the store's edge (``store/opening.py``)."""

from __future__ import annotations

from batchscore.store.db import Database
from batchscore.store.opening import migrated_database, open_database, startup_work

__all__ = ["Database", "migrated_database", "open_database", "startup_work"]

"""Opening GENRE's SQLite files so that a damaged one never takes a page down.

Why: the run registry and the LLM output cache are files on the server; a truncated or
overwritten file used to surface as a traceback on every page that touched it. Both now open
through ``open_or_set_aside``: a file that is not a sound database is renamed
``<stem>.corrupt-<timestamp><suffix>`` (kept for inspection), logged, and rebuilt empty.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import time
from pathlib import Path
from typing import Callable, TypeVar

log = logging.getLogger("genre")

T = TypeVar("T")


def open_or_set_aside(path: str | os.PathLike[str], open_db: Callable[[], T], what: str) -> T:
    """``open_db()``; when it finds a damaged file (``sqlite3.DatabaseError`` other than
    ``OperationalError``, which is a lock or a permission, not damage), move ``path`` (and its
    WAL/SHM files) aside, log a warning naming ``what``, and call ``open_db()`` on a fresh file."""
    try:
        return open_db()
    except sqlite3.OperationalError:
        raise
    except sqlite3.DatabaseError as error:
        path = Path(path)
        aside = path.with_name(f"{path.stem}.corrupt-{int(time.time())}{path.suffix}")
        log.warning("%s %s is damaged (%s); moved to %s and rebuilt empty", what, path, error, aside)
        os.replace(path, aside)
        for suffix in ("-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        return open_db()


def check_integrity(db: sqlite3.Connection) -> None:
    """Raise ``sqlite3.DatabaseError`` unless ``PRAGMA quick_check`` says ok."""
    status = db.execute("PRAGMA quick_check").fetchone()[0]
    if status != "ok":
        raise sqlite3.DatabaseError(status)

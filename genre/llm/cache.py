"""On-disk cache of LLM outputs (SQLite, WAL), so no prompt is ever generated twice.

Generation runs at a few prompts per second at best; a cache keyed by model and prompt makes
reruns instant, lets a long run resume after a stop, and lets a background job and the app
share outputs (WAL allows one writer beside many readers).

Every row belongs to an owner (the app's session owner, ``genre.runs`` style; ``""`` for the
CLI and the operator): reads, counts and exports see only the cache's own owner's rows, so
neither a prompt, an output nor a server or model name one user typed reaches another. The
key is owner + model id (for a server: its URL and model) + prompt, tokens and temperature.
"""

from __future__ import annotations

import copy
import csv
import hashlib
import os
import sqlite3
import threading
import time
from pathlib import Path
from typing import Iterable, TextIO

from genre.paths import llm_cache_dir
from genre.sqlite_files import check_integrity, open_or_set_aside

_SCHEMA = """
CREATE TABLE IF NOT EXISTS owned_outputs (
    owner TEXT NOT NULL,
    model_id TEXT NOT NULL,
    key TEXT NOT NULL,
    prompt TEXT NOT NULL,
    max_tokens INTEGER NOT NULL,
    temperature REAL NOT NULL,
    output TEXT NOT NULL,
    created REAL NOT NULL,
    PRIMARY KEY (owner, model_id, key)
)
"""
_COLUMNS = "model_id, key, prompt, max_tokens, temperature, output, created"


def prompt_key(prompt: str, max_tokens: int, temperature: float) -> str:
    """sha256 of everything besides the model that decides an output."""
    payload = f"{int(max_tokens)}\x1f{float(temperature)!r}\x1f{prompt}"
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


class OutputCache:
    """Outputs keyed by (owner, model id, sha256 of prompt + max_tokens + temperature).

    Parameters
    ----------
    directory : path or None
        Folder of ``outputs.sqlite``; default ``genre.paths.llm_cache_dir()``.
    owner : str or None
        Whose rows this cache reads and writes (``None``: ``""``, the CLI's and operator's own).
        ``for_owner`` gives another owner's view over the same connection.

    Examples
    --------
    >>> import tempfile
    >>> cache = OutputCache(tempfile.mkdtemp())
    >>> cache.put("m", "Say hi", 8, 0.0, "hi")
    >>> cache.get("m", "Say hi", 8, 0.0)
    'hi'
    """

    def __init__(self, directory: str | os.PathLike | None = None, owner: str | None = None) -> None:
        self.owner = owner or ""
        self.directory = Path(directory) if directory is not None else llm_cache_dir()
        self.directory.mkdir(parents=True, exist_ok=True)
        self.path = self.directory / "outputs.sqlite"
        self._lock = threading.Lock()
        self._db = open_or_set_aside(self.path, self._open, "LLM output cache")

    def _open(self) -> sqlite3.Connection:
        # One connection shared by the threads of one process (Streamlit reruns in threads).
        db = sqlite3.connect(self.path, timeout=60, check_same_thread=False)
        try:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute(_SCHEMA)
            if db.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'outputs'").fetchone():
                # a cache from before owners: its rows were written by the CLI or one shared app,
                # so they go to the operator's own space ("") and no session sees them
                db.execute(f"INSERT OR IGNORE INTO owned_outputs SELECT '', {_COLUMNS} FROM outputs")
                db.execute("DROP TABLE outputs")
            db.commit()
            check_integrity(db)
        except sqlite3.DatabaseError:
            db.close()
            raise
        return db

    def for_owner(self, owner: str | None) -> OutputCache:
        """The same file and connection, reading and writing only ``owner``'s rows."""
        view = copy.copy(self)
        view.owner = owner or ""
        return view

    def __repr__(self) -> str:  # never the owner: it identifies a session
        return f"OutputCache({str(self.directory)!r})"

    def __len__(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT COUNT(*) FROM owned_outputs WHERE owner = ?",
                                        (self.owner,)).fetchone()[0])

    def get(self, model_id: str, prompt: str, max_tokens: int, temperature: float) -> str | None:
        """The cached output, or None."""
        return self.get_many(model_id, [prompt], max_tokens, temperature).get(prompt)

    def get_many(self, model_id: str, prompts: Iterable[str], max_tokens: int,
                 temperature: float) -> dict[str, str]:
        """``{prompt: output}`` for the prompts that are cached."""
        by_key = {prompt_key(p, max_tokens, temperature): p for p in prompts}
        keys = list(by_key)
        found: dict[str, str] = {}
        with self._lock:
            for start in range(0, len(keys), 500):  # stay under SQLite's variable limit
                chunk = keys[start:start + 500]
                rows = self._db.execute(
                    f"SELECT key, output FROM owned_outputs WHERE owner = ? AND model_id = ? AND key IN "
                    f"({','.join('?' * len(chunk))})", [self.owner, model_id, *chunk]).fetchall()
                found.update({by_key[key]: output for key, output in rows})
        return found

    def put(self, model_id: str, prompt: str, max_tokens: int, temperature: float, output: str) -> None:
        """Store one output (committed at once, so a killed run keeps it)."""
        row = (self.owner, model_id, prompt_key(prompt, max_tokens, temperature), prompt, int(max_tokens),
               float(temperature), output, time.time())
        with self._lock:
            self._db.execute("INSERT OR REPLACE INTO owned_outputs VALUES (?, ?, ?, ?, ?, ?, ?, ?)", row)
            self._db.commit()

    def models(self) -> dict[str, int]:
        """Number of this owner's cached outputs per model id (for the app's cache status)."""
        with self._lock:
            rows = self._db.execute("SELECT model_id, COUNT(*) FROM owned_outputs WHERE owner = ? "
                                    "GROUP BY model_id ORDER BY model_id", (self.owner,)).fetchall()
        return {model: int(count) for model, count in rows}

    def export_csv(self, target: str | os.PathLike | TextIO, model_id: str | None = None) -> None:
        """Write this owner's rows (or one model's part of them) as CSV: model_id, prompt,
        max_tokens, temperature, output, created — for reading outputs outside GENRE."""
        query = ("SELECT model_id, prompt, max_tokens, temperature, output, created FROM owned_outputs "
                 "WHERE owner = ?")
        params: list[str] = [self.owner]
        if model_id is not None:
            query += " AND model_id = ?"
            params.append(model_id)
        with self._lock:
            rows = self._db.execute(query + " ORDER BY created", params).fetchall()
        header = ["model_id", "prompt", "max_tokens", "temperature", "output", "created"]
        if hasattr(target, "write"):
            _write_rows(target, header, rows)
            return
        path = Path(target)
        tmp = path.with_name(path.name + ".tmp")
        with open(tmp, "w", newline="", encoding="utf-8") as handle:
            _write_rows(handle, header, rows)
        os.replace(tmp, path)

    def close(self) -> None:
        with self._lock:
            self._db.close()


def _write_rows(handle: TextIO, header: list[str], rows: list[tuple]) -> None:
    writer = csv.writer(handle)
    writer.writerow(header)
    writer.writerows(rows)

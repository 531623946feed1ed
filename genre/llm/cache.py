"""On-disk cache of LLM outputs (SQLite, WAL), so no prompt is ever generated twice.

Generation runs at a few prompts per second at best; a cache keyed by model and prompt makes
reruns instant, lets a long run resume after a stop, and lets a background job and the app
share outputs (WAL allows one writer beside many readers).
"""

from __future__ import annotations

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
CREATE TABLE IF NOT EXISTS outputs (
    model_id TEXT NOT NULL,
    key TEXT NOT NULL,
    prompt TEXT NOT NULL,
    max_tokens INTEGER NOT NULL,
    temperature REAL NOT NULL,
    output TEXT NOT NULL,
    created REAL NOT NULL,
    PRIMARY KEY (model_id, key)
)
"""


def prompt_key(prompt: str, max_tokens: int, temperature: float) -> str:
    """sha256 of everything besides the model that decides an output."""
    payload = f"{int(max_tokens)}\x1f{float(temperature)!r}\x1f{prompt}"
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


class OutputCache:
    """Outputs keyed by (model id, sha256 of prompt + max_tokens + temperature).

    Parameters
    ----------
    directory : path or None
        Folder of ``outputs.sqlite``; default ``genre.paths.llm_cache_dir()``.

    Examples
    --------
    >>> import tempfile
    >>> cache = OutputCache(tempfile.mkdtemp())
    >>> cache.put("m", "Say hi", 8, 0.0, "hi")
    >>> cache.get("m", "Say hi", 8, 0.0)
    'hi'
    """

    def __init__(self, directory: str | os.PathLike | None = None) -> None:
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
            db.commit()
            check_integrity(db)
        except sqlite3.DatabaseError:
            db.close()
            raise
        return db

    def __repr__(self) -> str:
        return f"OutputCache({str(self.directory)!r})"

    def __len__(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT COUNT(*) FROM outputs").fetchone()[0])

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
                    f"SELECT key, output FROM outputs WHERE model_id = ? AND key IN "
                    f"({','.join('?' * len(chunk))})", [model_id, *chunk]).fetchall()
                found.update({by_key[key]: output for key, output in rows})
        return found

    def put(self, model_id: str, prompt: str, max_tokens: int, temperature: float, output: str) -> None:
        """Store one output (committed at once, so a killed run keeps it)."""
        row = (model_id, prompt_key(prompt, max_tokens, temperature), prompt, int(max_tokens),
               float(temperature), output, time.time())
        with self._lock:
            self._db.execute("INSERT OR REPLACE INTO outputs VALUES (?, ?, ?, ?, ?, ?, ?)", row)
            self._db.commit()

    def models(self) -> dict[str, int]:
        """Number of cached outputs per model id (for the app's cache status)."""
        with self._lock:
            rows = self._db.execute(
                "SELECT model_id, COUNT(*) FROM outputs GROUP BY model_id ORDER BY model_id").fetchall()
        return {model: int(count) for model, count in rows}

    def export_csv(self, target: str | os.PathLike | TextIO, model_id: str | None = None) -> None:
        """Write the cache (or one model's part) as CSV: model_id, prompt, max_tokens,
        temperature, output, created — for reading outputs outside GENRE."""
        query = "SELECT model_id, prompt, max_tokens, temperature, output, created FROM outputs"
        params: list[str] = []
        if model_id is not None:
            query += " WHERE model_id = ?"
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

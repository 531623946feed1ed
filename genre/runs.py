"""The run registry: saved runs (config, metrics, per-user metrics, timings) in SQLite.

stdlib sqlite3 in WAL mode: readers never block the writer, and a process killed mid-write
leaves every committed run intact (each save is one transaction).

Examples
--------
>>> reg = RunRegistry(":memory:")                         # doctest: +SKIP
>>> run_id = reg.save(result, name="ease + content")      # doctest: +SKIP
>>> reg.compare([run_id])                                 # doctest: +SKIP
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from pathlib import Path
from typing import Any

import pandas as pd

from genre.errors import GenreError

_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    created REAL NOT NULL,
    config TEXT NOT NULL,
    metrics TEXT NOT NULL,
    weights TEXT NOT NULL,
    timings TEXT NOT NULL,
    per_user TEXT NOT NULL
);
"""


def default_registry_path() -> Path:
    """``$GENRE_HOME/runs.sqlite``, else the user's data directory (XDG) / genre / runs.sqlite."""
    home = os.environ.get("GENRE_HOME")
    if home:
        return Path(home) / "runs.sqlite"
    base = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(base) / "genre" / "runs.sqlite"


class RunRegistry:
    """Save, list, load and compare runs."""

    def __init__(self, path: str | Path | None = None):
        self.path = str(path) if path is not None else str(default_registry_path())
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self._memory = sqlite3.connect(":memory:") if self.path == ":memory:" else None
        with self._connect() as db:
            db.executescript(_SCHEMA)

    def _connect(self) -> sqlite3.Connection:
        if self._memory is not None:
            return self._memory
        try:
            db = sqlite3.connect(self.path, timeout=30)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
        except sqlite3.DatabaseError as error:
            raise GenreError(f"the run registry {self.path} cannot be opened ({error}); "
                             f"move it away to start a new one") from None
        return db

    def save(self, result, name: str | None = None) -> int:
        """Store a ``RunResult``; returns the new run id."""
        from genre.config import dump_config

        record = result.to_json()
        row = (name or result.config.name, time.time(), dump_config(result.config),
               json.dumps(record["metrics"]), json.dumps(record["weights"]),
               json.dumps(record["timings"]), _frame_to_json(result.per_user))
        db = self._connect()
        try:
            with db:
                cursor = db.execute("INSERT INTO runs (name, created, config, metrics, weights, timings, "
                                    "per_user) VALUES (?, ?, ?, ?, ?, ?, ?)", row)
            return int(cursor.lastrowid)
        finally:
            self._close(db)

    def list(self) -> pd.DataFrame:
        """One row per run: id, name, created, and the mix's metrics."""
        rows = self._query("SELECT id, name, created, metrics, weights FROM runs ORDER BY id")
        records = []
        for run_id, name, created, metrics, weights in rows:
            mix = json.loads(metrics).get("mix", {})
            records.append({"id": run_id, "name": name,
                            "created": pd.Timestamp(created, unit="s").strftime("%Y-%m-%d %H:%M"),
                            "algorithms": ", ".join(f"{k} {v:g}" for k, v in json.loads(weights).items()),
                            **mix})
        return pd.DataFrame(records)

    def load(self, run_id: int) -> dict[str, Any]:
        """Everything stored for one run (config as RunConfig, per-user metrics as DataFrame)."""
        from genre.config import load_config

        rows = self._query("SELECT id, name, created, config, metrics, weights, timings, per_user "
                           "FROM runs WHERE id = ?", (int(run_id),))
        if not rows:
            raise GenreError(f"no saved run with id {run_id}; saved ids: "
                             f"{', '.join(str(i) for i in self.list().get('id', [])) or '(none)'}")
        run_id, name, created, config, metrics, weights, timings, per_user = rows[0]
        return {"id": run_id, "name": name, "created": created, "config": load_config(config),
                "metrics": json.loads(metrics), "weights": json.loads(weights),
                "timings": json.loads(timings),
                "per_user": _frame_from_json(per_user)}

    def compare(self, run_ids: list[int]) -> pd.DataFrame:
        """The mix metrics of several runs side by side (rows: metrics, columns: "#id name")."""
        columns = {}
        for run_id in run_ids:
            run = self.load(run_id)
            columns[f"#{run['id']} {run['name']}"] = pd.Series(run["metrics"].get("mix", {}))
        return pd.DataFrame(columns)

    def delete(self, run_id: int) -> None:
        db = self._connect()
        try:
            with db:
                db.execute("DELETE FROM runs WHERE id = ?", (int(run_id),))
        finally:
            self._close(db)

    def _query(self, sql: str, args: tuple = ()) -> list[tuple]:
        db = self._connect()
        try:
            return db.execute(sql, args).fetchall()
        finally:
            self._close(db)

    def _close(self, db: sqlite3.Connection) -> None:
        if db is not self._memory:
            db.close()


def _frame_to_json(frame: pd.DataFrame) -> str:
    """Per-user metrics as JSON; Python's json writes floats exactly (pandas' fast path does not)."""
    return json.dumps({"index": frame.index.tolist(), "columns": [str(c) for c in frame.columns],
                       "data": frame.to_numpy().tolist()})


def _frame_from_json(text: str) -> pd.DataFrame:
    stored = json.loads(text)
    return pd.DataFrame(stored["data"], index=stored["index"], columns=stored["columns"])

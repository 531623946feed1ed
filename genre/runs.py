"""The run registry: saved runs (config, metrics, per-user metrics, timings) in SQLite.

stdlib sqlite3 in WAL mode: readers never block the writer, and a process killed mid-write
leaves every committed run intact (each save is one transaction).

Each run records its owner (the app's session, or an operator-set user name): a session lists
and opens its own runs, others' only when the operator sets ``GENRE_SHARE_RUNS=1``.

Examples
--------
>>> reg = RunRegistry(":memory:", owner="session-1")      # doctest: +SKIP
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

from genre.config import dump_config, parse_config_text
from genre.errors import GenreError
from genre.paths import registry_path
from genre.sqlite_files import check_integrity, open_or_set_aside

_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    created REAL NOT NULL,
    config TEXT NOT NULL,
    metrics TEXT NOT NULL,
    weights TEXT NOT NULL,
    timings TEXT NOT NULL,
    per_user TEXT NOT NULL,
    owner TEXT
);
"""

_SCOPES = ("own", "all")


def operator_owner() -> str | None:
    """The operator-set owner name (``GENRE_USER``): the app's sessions and ``genre run`` save under it, so a
    run from the command line — on Spark too — sits in the app's Saved runs beside the browser's."""
    return os.environ.get("GENRE_USER", "").strip() or None


def sharing_enabled() -> bool:
    """Whether sessions may see each other's runs (operator sets ``GENRE_SHARE_RUNS=1``)."""
    return os.environ.get("GENRE_SHARE_RUNS", "").strip().lower() in ("1", "true", "yes", "on")


class RunRegistry:
    """Save, list, load and compare runs.

    Parameters
    ----------
    path : str or path, optional
        SQLite file (``":memory:"`` for a throwaway one); default ``genre.paths.registry_path()``.
    owner : str, optional
        Who saves and reads: the app passes its session (or an operator-set user name). With an
        owner, ``list`` shows that owner's runs and other owners' runs can be listed, loaded or
        compared only when ``GENRE_SHARE_RUNS=1``. Without one (the CLI), every run is visible.

    A damaged registry file is moved aside (``runs.corrupt-<time>.sqlite``) and rebuilt empty.
    """

    def __init__(self, path: str | Path | None = None, owner: str | None = None):
        self.path = str(path) if path is not None else str(registry_path())
        self.owner = owner
        self._memory = sqlite3.connect(":memory:") if self.path == ":memory:" else None
        if self._memory is not None:
            self._prepare(self._memory)
        else:
            try:
                Path(self.path).parent.mkdir(parents=True, exist_ok=True)
                open_or_set_aside(self.path, self._open_checked, "run registry")
            except (sqlite3.OperationalError, OSError) as error:  # unwritable, locked, a folder: not damage
                raise GenreError(f"the run registry {self.path} cannot be opened ({error}); check the "
                                 f"folder's permissions or point GENRE_HOME elsewhere") from None

    def _open_checked(self) -> None:
        db = self._connect()
        try:
            self._prepare(db)
            check_integrity(db)
        finally:
            self._close(db)

    @staticmethod
    def _prepare(db: sqlite3.Connection) -> None:
        """Create the table; add the ``owner`` column to a registry from before it existed."""
        with db:
            db.executescript(_SCHEMA)
            columns = {row[1] for row in db.execute("PRAGMA table_info(runs)")}
            if "owner" not in columns:
                db.execute("ALTER TABLE runs ADD COLUMN owner TEXT")

    def _connect(self) -> sqlite3.Connection:
        if self._memory is not None:
            return self._memory
        try:
            db = sqlite3.connect(self.path, timeout=30)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
        except sqlite3.OperationalError as error:
            raise GenreError(f"the run registry cannot be opened ({error}); check the folder's "
                             f"permissions or set GENRE_HOME to a writable folder") from None
        return db

    def save(self, result, name: str | None = None) -> int:
        """Store a ``RunResult`` under this registry's owner; returns the new run id.

        Without a ``name`` the run is named after its config, plus the engine when it ran on Spark, so
        the same config run on both engines reads apart in a comparison.
        """

        record = result.to_json()
        engine = " (spark)" if result.config.engine == "spark" else ""
        row = (name or f"{result.config.name}{engine}", time.time(), dump_config(result.config),
               json.dumps({**record["metrics"], "_intervals": record.get("intervals", {})}),
               json.dumps(record["weights"]),
               json.dumps(record["timings"]), _frame_to_json(result.per_user), self.owner)
        db = self._connect()
        try:
            with db:
                cursor = db.execute("INSERT INTO runs (name, created, config, metrics, weights, timings, "
                                    "per_user, owner) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", row)
            return int(cursor.lastrowid)
        finally:
            self._close(db)

    def list(self, scope: str | None = None) -> pd.DataFrame:
        """One row per run: id, name, created, algorithms, owner and the mix's metrics.

        ``scope``: ``"own"`` (default when the registry has an owner) or ``"all"`` (default
        without one; with an owner it needs ``GENRE_SHARE_RUNS=1``).
        """
        sql, args = "SELECT id, name, created, metrics, weights, owner FROM runs", ()
        if self._scope(scope) == "own":
            sql, args = sql + " WHERE owner IS ?", (self.owner,)
        records = []
        for run_id, name, created, metrics, weights, owner in self._query(sql + " ORDER BY id", args):
            mix = json.loads(metrics).get("mix", {})
            records.append({"id": run_id, "name": name,
                            "created": pd.Timestamp(created, unit="s").strftime("%Y-%m-%d %H:%M"),
                            "algorithms": ", ".join(f"{k} {v:g}" for k, v in json.loads(weights).items()),
                            "owner": owner, **mix})
        return pd.DataFrame(records)

    def load(self, run_id: int) -> dict[str, Any]:
        """Everything stored for one run (config as RunConfig, per-user metrics as DataFrame)."""

        rows = self._query("SELECT id, name, created, config, metrics, weights, timings, per_user, owner "
                           "FROM runs WHERE id = ?", (int(run_id),))
        if not rows:
            raise GenreError(f"no saved run with id {run_id}; saved ids: "
                             f"{', '.join(str(i) for i in self.list().get('id', [])) or '(none)'}")
        run_id, name, created, config, metrics, weights, timings, per_user, owner = rows[0]
        self._check_owner(run_id, owner)
        metrics = json.loads(metrics)  # 95 % half-widths ride along in the metrics payload
        return {"id": run_id, "name": name, "created": created, "config": parse_config_text(config),
                "metrics": metrics, "intervals": metrics.pop("_intervals", {}), "weights": json.loads(weights),
                "timings": json.loads(timings), "owner": owner,
                "per_user": _frame_from_json(per_user)}

    def compare(self, run_ids: list[int]) -> pd.DataFrame:
        """The mix metrics of several runs side by side (rows: metrics, columns: "#id name")."""
        columns = {}
        for run_id in run_ids:
            run = self.load(run_id)
            columns[f"#{run['id']} {run['name']}"] = pd.Series(run["metrics"].get("mix", {}))
        return pd.DataFrame(columns)

    def delete(self, run_id: int) -> None:
        """Delete one run (with an owner: only that owner's runs)."""
        rows = self._query("SELECT owner FROM runs WHERE id = ?", (int(run_id),))
        if rows and self.owner is not None and rows[0][0] != self.owner:
            raise GenreError(f"run {run_id} was saved by another session; only its owner can delete it")
        db = self._connect()
        try:
            with db:
                db.execute("DELETE FROM runs WHERE id = ?", (int(run_id),))
        finally:
            self._close(db)

    def _scope(self, scope: str | None) -> str:
        if scope is None:
            return "own" if self.owner is not None else "all"
        if scope not in _SCOPES:
            raise GenreError(f"unknown run scope {scope!r}; use one of {', '.join(_SCOPES)}")
        if scope == "all" and self.owner is not None and not sharing_enabled():
            raise GenreError("runs of other sessions are private; the operator can share them by "
                             "setting GENRE_SHARE_RUNS=1")
        return scope

    def _check_owner(self, run_id: int, owner: str | None) -> None:
        if self.owner is not None and owner != self.owner and not sharing_enabled():
            raise GenreError(f"run {run_id} was saved by another session, and runs are private to "
                             f"their session; the operator can share them by setting GENRE_SHARE_RUNS=1")

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

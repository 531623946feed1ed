"""The run registry: saved runs (config, metrics, per-user metrics, timings) in SQLite.

stdlib sqlite3 in WAL mode: readers never block the writer, and a process killed mid-write
leaves every committed run intact (each save is one transaction).

Each run records its owner (the app's session, or an operator-set user name): a session lists
and opens its own runs, others' only when the operator sets ``GENRE_SHARE_RUNS=1``.

A run saved with its models (``save_with_models``) also records the folder ``TrainedRun.save``
wrote, under the owner's own folder of ``genre.paths.saved_models_dir()``. Those folders hold the
owner's data and models, so only their owner may open them, shared runs or not (``models_path``).

Examples
--------
>>> reg = RunRegistry(":memory:", owner="session-1")      # doctest: +SKIP
>>> run_id = reg.save(result, name="ease + content")      # doctest: +SKIP
>>> reg.compare([run_id])                                 # doctest: +SKIP
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import sqlite3
import time
from pathlib import Path
from typing import Any

import pandas as pd

from genre.config import dump_config, parse_config_text
from genre.errors import GenreError
from genre.paths import registry_path, saved_models_dir
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
    owner TEXT,
    models TEXT
);
"""

#: Columns added after the first release: (name, SQL type), added to an older registry on open.
_ADDED_COLUMNS = (("owner", "TEXT"), ("models", "TEXT"))

_SCOPES = ("own", "all")

#: Default total size of every owner's saved models together (``GENRE_SAVED_MODELS_QUOTA_MB``).
DEFAULT_SAVED_MODELS_QUOTA_MB = 4096


def operator_owner() -> str | None:
    """The operator-set owner name (``GENRE_USER``): the app's sessions and ``genre run`` save under it, so a
    run from the command line — on Spark too — sits in the app's Saved runs beside the browser's."""
    return os.environ.get("GENRE_USER", "").strip() or None


def saved_models_quota() -> int:
    """Bytes every owner's saved models may take together: ``GENRE_SAVED_MODELS_QUOTA_MB`` (default 4096).
    A hosted app's strangers each save as a new owner, so the bound is on the whole folder."""
    raw = os.environ.get("GENRE_SAVED_MODELS_QUOTA_MB", "").strip()
    try:
        megabytes = float(raw) if raw else DEFAULT_SAVED_MODELS_QUOTA_MB
    except ValueError:
        raise GenreError(f"GENRE_SAVED_MODELS_QUOTA_MB must be a number of megabytes, got {raw!r}") from None
    return int(max(megabytes, 0) * 2**20)


def _folder_bytes(folder: Path) -> int:
    return sum(f.stat().st_size for f in folder.rglob("*") if f.is_file()) if folder.is_dir() else 0


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
    models_root : str or path, optional
        Where runs saved with their models go, one sub-folder per owner; default
        ``genre.paths.saved_models_dir()``.

    A damaged registry file is moved aside (``runs.corrupt-<time>.sqlite``) and rebuilt empty.
    """

    def __init__(self, path: str | Path | None = None, owner: str | None = None,
                 models_root: str | Path | None = None):
        self.path = str(path) if path is not None else str(registry_path())
        self.owner = owner
        self.models_root = Path(models_root) if models_root is not None else saved_models_dir()
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
        """Create the table; add the columns a registry from before them lacks (nullable: old rows keep NULL)."""
        with db:
            db.executescript(_SCHEMA)
            columns = {row[1] for row in db.execute("PRAGMA table_info(runs)")}
            for name, kind in _ADDED_COLUMNS:
                if name not in columns:
                    db.execute(f"ALTER TABLE runs ADD COLUMN {name} {kind}")

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

    def save_with_models(self, trained, name: str | None = None) -> tuple[int, dict[str, Any]]:
        """Save a ``TrainedRun``'s result as a run *and* the run itself (``trained.save``) into this
        owner's folder; returns the run id and the manifest (``["bytes"]``: size on disk).

        If writing the folder fails, or it takes every owner's saved models together over
        ``saved_models_quota()``, the folder and the registry row are removed again and a
        ``GenreError`` says so.
        """
        quota = saved_models_quota()
        run_id = self.save(trained.result_, name=name)
        folder = self.models_folder(run_id)
        try:
            manifest = trained.save(folder)
            total = _folder_bytes(self.models_root)
            if total > quota:
                raise GenreError(f"saving this run's models ({manifest.get('bytes', 0) / 2**20:,.1f} MB) would take "
                                 f"the saved models over their {quota / 2**20:,.0f} MB quota "
                                 f"(GENRE_SAVED_MODELS_QUOTA_MB); delete saved runs, save a run with fewer "
                                 f"or smaller models, or ask the operator to raise the quota")
        except BaseException:
            self._delete_row(run_id)
            shutil.rmtree(folder, ignore_errors=True)
            raise
        db = self._connect()
        try:
            with db:
                db.execute("UPDATE runs SET models = ? WHERE id = ?", (str(folder), run_id))
        finally:
            self._close(db)
        return run_id, manifest

    def owner_folder(self) -> Path:
        """This owner's folder of saved models: a readable slug of the owner plus a hash of it, so
        no owner name (``GENRE_USER`` may hold anything) can reach another's folder or climb out."""
        if self.owner is None:
            return self.models_root / "no-owner"
        slug = re.sub(r"[^A-Za-z0-9_-]+", "-", self.owner).strip("-")[:40] or "owner"
        return self.models_root / f"{slug}-{hashlib.sha256(self.owner.encode('utf-8')).hexdigest()[:16]}"

    def models_folder(self, run_id: int) -> Path:
        """Where run ``run_id`` of this owner keeps its models."""
        return self.owner_folder() / f"run-{int(run_id)}"

    def models_path(self, run_id: int) -> Path:
        """The folder of run ``run_id``'s saved models, for ``TrainedRun.load``.

        Raises ``GenreError`` (one line) when the run does not exist, was saved without models, belongs
        to another owner (always: the folder holds that owner's data, shared runs or not), or its
        recorded folder lies outside this owner's folder or is gone.
        """
        rows = self._query("SELECT owner, models FROM runs WHERE id = ?", (int(run_id),))
        if not rows:
            raise GenreError(f"no saved run with id {run_id}")
        owner, models = rows[0]
        if self.owner is not None and owner != self.owner:
            raise GenreError(f"run {run_id} was saved by another session; only its owner can open its models")
        if not models:
            raise GenreError(f"run {run_id} was saved without its models: train it again, then save it "
                             f"with models to reopen or serve it")
        root = (self.owner_folder() if self.owner is not None else self.models_root).resolve()
        folder = Path(models).resolve()
        if root not in folder.parents:
            raise GenreError(f"run {run_id}'s models folder is outside this owner's saved models; refusing it")
        if not folder.is_dir():
            raise GenreError(f"run {run_id}'s models folder is gone ({folder}); save the run again")
        return folder

    def list(self, scope: str | None = None) -> pd.DataFrame:
        """One row per run: id, name, created, algorithms, owner, models (saved with them) and the mix's metrics.

        ``scope``: ``"own"`` (default when the registry has an owner) or ``"all"`` (default
        without one; with an owner it needs ``GENRE_SHARE_RUNS=1``).
        """
        sql, args = "SELECT id, name, created, metrics, weights, owner, models FROM runs", ()
        if self._scope(scope) == "own":
            sql, args = sql + " WHERE owner IS ?", (self.owner,)
        records = []
        for run_id, name, created, metrics, weights, owner, models in self._query(sql + " ORDER BY id", args):
            mix = json.loads(metrics).get("mix", {})
            records.append({"id": run_id, "name": name,
                            "created": pd.Timestamp(created, unit="s").strftime("%Y-%m-%d %H:%M"),
                            "algorithms": ", ".join(f"{k} {v:g}" for k, v in json.loads(weights).items()),
                            "owner": owner, "models": bool(models), **mix})
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
        """Delete one run, and its saved models (with an owner: only that owner's runs)."""
        rows = self._query("SELECT owner, models FROM runs WHERE id = ?", (int(run_id),))
        if rows and self.owner is not None and rows[0][0] != self.owner:
            raise GenreError(f"run {run_id} was saved by another session; only its owner can delete it")
        if rows and rows[0][1]:
            folder = Path(rows[0][1]).resolve()
            if self.models_root.resolve() in folder.parents:  # never anything outside the saved models
                shutil.rmtree(folder, ignore_errors=True)
        self._delete_row(run_id)

    def _delete_row(self, run_id: int) -> None:
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

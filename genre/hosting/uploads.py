"""The upload store: files a browser sent, kept on disk under a quota.

Uploads are written to disk, not only parsed in memory, because an exported YAML config must
name real files for ``python -m genre run`` to replay a session. Nothing the browser sends
becomes a path component: the folder is a hash of the content, the file name is sanitised and
each file is written atomically. A hosted app must not fill its disk, so each save enforces a
size cap per upload, drops uploads unused for ``GENRE_UPLOAD_MAX_AGE_DAYS`` and, when the store
is over ``GENRE_UPLOAD_QUOTA_MB``, the least recently used ones — never the folders the current
session uses, nor those another live session holds a lease on: each app session renews a lease
file (``genre.paths.upload_leases_dir()``) naming its upload folders on every page run; a lease
not renewed for ``GENRE_UPLOAD_LEASE_HOURS`` (default 12) has expired with its session. One
upload widget takes at most ``GENRE_UPLOAD_MAX_FILES`` files (default 10).

Examples
--------
>>> paths = save_uploads([upload])                     # doctest: +SKIP
>>> paths[0].parent.parent == uploads_dir()            # doctest: +SKIP
True
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import shutil
import tempfile
import time
from pathlib import Path
from typing import Iterable, Protocol, Sequence

from genre.errors import DataError
from genre.paths import upload_leases_dir, uploads_dir

log = logging.getLogger("genre")

#: Defaults of the environment variables that size the store.
DEFAULT_QUOTA_MB = 2048
DEFAULT_MAX_AGE_DAYS = 7.0
DEFAULT_MAX_UPLOAD_MB = 1024
DEFAULT_LEASE_HOURS = 12.0
DEFAULT_MAX_FILES = 10


class Upload(Protocol):
    """What Streamlit's ``UploadedFile`` offers and the store needs."""

    name: str

    def getvalue(self) -> bytes: ...


def _env_number(name: str, default: float) -> float:
    raw = os.environ.get(name)
    if raw is None or not raw.strip():
        return default
    try:
        value = float(raw)
    except ValueError:
        raise DataError(f"{name}={raw!r} is not a number; set it to a positive number or unset it") from None
    if not value > 0:
        raise DataError(f"{name}={raw!r} must be above 0")
    return value


def quota_bytes() -> int:
    """Total size the store may hold (``GENRE_UPLOAD_QUOTA_MB``, default 2048)."""
    return int(_env_number("GENRE_UPLOAD_QUOTA_MB", DEFAULT_QUOTA_MB) * 2**20)


def max_upload_bytes() -> int:
    """Largest single upload (``GENRE_UPLOAD_MAX_MB``, default 1024, never above the quota)."""
    return min(int(_env_number("GENRE_UPLOAD_MAX_MB", DEFAULT_MAX_UPLOAD_MB) * 2**20), quota_bytes())


def max_age_seconds() -> float:
    """Uploads unused for longer are deleted on the next save (``GENRE_UPLOAD_MAX_AGE_DAYS``, default 7)."""
    return _env_number("GENRE_UPLOAD_MAX_AGE_DAYS", DEFAULT_MAX_AGE_DAYS) * 86_400


def lease_seconds() -> float:
    """How long a session's lease outlives its last renewal (``GENRE_UPLOAD_LEASE_HOURS``, default 12)."""
    return _env_number("GENRE_UPLOAD_LEASE_HOURS", DEFAULT_LEASE_HOURS) * 3600


def max_files() -> int:
    """Most files one upload widget takes (``GENRE_UPLOAD_MAX_FILES``, default 10)."""
    return int(_env_number("GENRE_UPLOAD_MAX_FILES", DEFAULT_MAX_FILES))


def check_file_count(files: Sequence[object]) -> None:
    """DataError when more files were given at once than ``max_files()``."""
    if len(files) > max_files():
        raise DataError(f"{len(files)} files were uploaded at once; at most {max_files()} are taken "
                        f"(GENRE_UPLOAD_MAX_FILES): remove the files you do not need")


def lease_uploads(lease: str, paths: Iterable[str | os.PathLike[str]]) -> None:
    """Record (or renew) that the live session ``lease`` uses the upload folders holding ``paths``:
    no other session's pruning deletes them until the lease expires (``lease_seconds``)."""
    root = uploads_dir()
    folders = sorted({f.name for p in paths if (f := _folder_of(Path(p), root)) is not None})
    target = _lease_file(lease)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        handle, partial = tempfile.mkstemp(dir=target.parent, prefix=".", suffix=".part")
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            json.dump(folders, out)
        os.replace(partial, target)
    except OSError as exc:
        raise DataError(f"cannot record the uploads in use: {exc.strerror or exc}; free some disk "
                        f"space or set GENRE_CACHE_DIR to a writable folder") from exc


def release_lease(lease: str) -> None:
    """End ``lease`` at once (its session ended): its folders become prunable like any other."""
    _lease_file(lease).unlink(missing_ok=True)


def leased_folders(now: float | None = None) -> set[Path]:
    """The upload folders some live session holds a lease on; expired leases are removed."""
    now = time.time() if now is None else now
    folder, root, held = upload_leases_dir(), uploads_dir(), set()
    if not folder.is_dir():
        return held
    for lease in folder.glob("*.lease"):
        try:
            if lease.stat().st_mtime < now - lease_seconds():
                lease.unlink(missing_ok=True)
                continue
            names = json.loads(lease.read_text(encoding="utf-8")[:1_000_000])
        except (OSError, ValueError):
            continue  # a lease being replaced, or damaged: the next renewal rewrites it
        if isinstance(names, list):
            held |= {(root / n).resolve() for n in names if isinstance(n, str) and re.fullmatch(r"\w+", n)}
    return held


def _lease_file(lease: str) -> Path:
    return upload_leases_dir() / f"{hashlib.sha256(lease.encode()).hexdigest()[:32]}.lease"


def save_uploads(files: Sequence[Upload], *, in_use: Iterable[str | os.PathLike[str]] = (),
                 lease: str | None = None) -> list[Path]:
    """Write uploads to ``uploads_dir()/<content hash>/<safe name>`` and return their paths.

    The folder name is the hash of every file's safe name and bytes, so uploading the same files
    again reuses the folder (and marks it used now). ``in_use``: paths (files or folders) the
    calling session still needs; pruning never touches their folders. ``lease``: the calling
    session's lease id; its lease is renewed to name ``in_use`` and the new folder before pruning.

    Raises
    ------
    DataError
        More files than ``max_files()``, a file is larger than the per-upload cap, the uploads cannot fit in the quota even after
        pruning, or the disk refuses the write; the message says which limit and how to change it.
    """
    check_file_count(files)
    limit = max_upload_bytes()
    for f in files:
        size = len(f.getvalue())
        if size > limit:
            raise DataError(f"{safe_file_name(f.name)} is {size / 2**20:.1f} MB, more than the "
                            f"{limit / 2**20:.0f} MB allowed per upload (GENRE_UPLOAD_MAX_MB); "
                            f"upload a smaller file")
    names = _unique_names(files)
    digest = hashlib.sha256()
    for f, name in zip(files, names):
        digest.update(name.encode() + b"\0" + f.getvalue())
    root = uploads_dir()
    folder = root / digest.hexdigest()[:16]
    incoming = sum(len(f.getvalue()) for f in files) if not folder.exists() else 0
    in_use = list(in_use)
    if lease is not None:  # leased before pruning: no other session's save may delete it meanwhile
        lease_uploads(lease, [*in_use, folder / "_"])
    keep = {folder.resolve()} | {_folder_of(Path(p), root) for p in in_use} - {None}
    prune_uploads(keep=keep, room=incoming)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        for f, name in zip(files, names):
            if not (folder / name).exists():  # same hash, same name: same bytes already there
                handle, partial = tempfile.mkstemp(dir=folder, prefix=".", suffix=".part")
                with os.fdopen(handle, "wb") as out:
                    out.write(f.getvalue())
                os.replace(partial, folder / name)  # atomic: a crash never leaves a half file to reuse
        os.utime(folder)  # "last used": what age and LRU pruning read
    except OSError as exc:
        raise DataError(f"cannot store the uploaded files: {exc.strerror or exc}; free some disk "
                        f"space or set GENRE_CACHE_DIR to a writable folder") from exc
    return [folder / name for name in names]


def prune_uploads(*, keep: Iterable[Path] = (), room: int = 0, now: float | None = None) -> list[Path]:
    """Delete upload folders older than the age limit, then least recently used ones until
    ``room`` more bytes fit in the quota; folders in ``keep`` and folders a live session holds a
    lease on (``leased_folders``) stay. Returns the deleted folders.

    Raises
    ------
    DataError
        Even with every other upload deleted, ``room`` bytes do not fit.
    """
    root = uploads_dir()
    if not root.is_dir():
        if room > quota_bytes():
            raise _quota_error(room)
        return []
    now = time.time() if now is None else now
    kept = {Path(k).resolve() for k in keep} | leased_folders(now)
    folders = [(f.stat().st_mtime, _size(f), f) for f in root.iterdir() if f.is_dir()]
    folders.sort()  # least recently used first
    deleted: list[Path] = []
    total = sum(size for _, size, _ in folders)
    oldest_allowed = now - max_age_seconds()
    quota = quota_bytes()
    for used, size, folder in folders:
        if folder.resolve() in kept:
            continue
        if used < oldest_allowed or total + room > quota:
            shutil.rmtree(folder, ignore_errors=True)
            total -= size
            deleted.append(folder)
    if deleted:
        log.info("upload store: deleted %d old or least recently used upload(s)", len(deleted))
    if total + room > quota:
        raise _quota_error(room)
    return deleted


def _quota_error(room: int) -> DataError:
    return DataError(f"the upload store is full: {room / 2**20:.1f} MB more would exceed the "
                     f"{quota_bytes() / 2**20:.0f} MB quota (GENRE_UPLOAD_QUOTA_MB) even after removing "
                     f"every upload not in use; upload smaller files or ask the operator to raise the quota")


def _folder_of(path: Path, root: Path) -> Path | None:
    """The upload folder (``root/<hash>``) holding ``path``, or None when it is not in the store."""
    try:
        relative = path.resolve().relative_to(root.resolve())
    except (ValueError, OSError):
        return None
    return (root / relative.parts[0]).resolve() if relative.parts else None


def _size(folder: Path) -> int:
    return sum(f.stat().st_size for f in folder.rglob("*") if f.is_file())


def _unique_names(files: Sequence[Upload]) -> list[str]:
    names: list[str] = []
    for f in files:
        name = safe = safe_file_name(f.name)
        n = 1
        while name in names:  # two uploads that sanitise alike must not share a file
            n += 1
            name = f"{Path(safe).stem}-{n}{Path(safe).suffix}"
        names.append(name)
    return names


def safe_file_name(name: str, max_stem: int = 60) -> str:
    """``name`` as a plain file name: no folders, only word characters, ``.`` and ``-``, short.

    >>> safe_file_name("../../My ratings (2024).CSV")
    'My_ratings_2024.csv'
    """
    base = re.split(r"[\\/]", name)[-1]
    suffix = Path(base).suffix if re.fullmatch(r"\.\w{1,10}", Path(base).suffix, re.ASCII) else ""
    stem = re.sub(r"[^\w.-]+", "_", base[:len(base) - len(suffix)], flags=re.ASCII).strip("._-")
    return (stem[:max_stem] or "upload") + suffix.lower()

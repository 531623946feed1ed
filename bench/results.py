"""Write one benchmark's section into bench/RESULTS.md, leaving the other sections alone."""

from __future__ import annotations

import re
from pathlib import Path


def write_section(path: Path, key: str, title: str, body: str) -> None:
    """Replace the text between ``<!-- key:start -->`` and ``<!-- key:end -->`` (append if absent)."""
    start, end = f"<!-- {key}:start -->", f"<!-- {key}:end -->"
    block = f"{start}\n## {title}\n\n{body.strip()}\n{end}"
    text = path.read_text(encoding="utf-8") if path.exists() else "# Benchmark results\n"
    pattern = re.compile(re.escape(start) + r".*?" + re.escape(end), re.S)
    text = pattern.sub(lambda _: block, text) if pattern.search(text) else text.rstrip() + "\n\n" + block + "\n"
    path.write_text(text, encoding="utf-8")


def provenance(root: Path, inputs: dict[str, Path], argv: list[str]) -> dict:
    """What a results JSON needs to be reproduced: argv, git commit (+ dirty files), UTC date,
    machine, load average, sha256 of each input file."""
    import datetime as dt
    import hashlib
    import os
    import platform
    import subprocess

    def git(*args: str) -> str:
        return subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True).stdout.rstrip("\n")

    def sha256(path: Path) -> str:
        digest = hashlib.sha256()
        with open(path, "rb") as handle:
            for chunk in iter(lambda: handle.read(1 << 24), b""):
                digest.update(chunk)
        return digest.hexdigest()

    return {"argv": list(argv), "commit": git("rev-parse", "HEAD"),
            "uncommitted": git("status", "--porcelain", "--", "genre", "bench").splitlines(),
            "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
            "machine": f"{platform.machine()}, {os.cpu_count()} cores", "load_average": os.getloadavg()[0],
            "input_sha256": {name: sha256(path) for name, path in inputs.items()}}


def provenance_line(record: dict) -> str:
    """The header sentence of a rendered section: command, date, commit (+ dirty files), machine, load."""
    dirty = f", {len(record['uncommitted'])} files uncommitted" if record["uncommitted"] else ""
    return (f"Command: `.venv/bin/python {' '.join(record['argv'])}` ({record['date']}, commit "
            f"{record['commit'][:10]}{dirty}; {record['machine']}, load average {record['load_average']:.1f}).")

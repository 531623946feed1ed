"""Every config in configs/ run at the issue's base commit and at HEAD: are the metrics unchanged?

Run: ``.venv/bin/python bench/configs_unchanged.py [--base 9905eb8] [--configs item_knn ease ...]
[--render-only]``

Issue 11 asks that moving to the candidate store and library neighbours leaves every metric of
every config in ``configs/`` within 0.0005 of what it was. The base commit is checked out into a
temporary ``git worktree``; each config runs there and in this checkout through
``python -m genre run CONFIG --json --no-save`` (same interpreter, same sample data), and the
JSON records both metric sets and the largest absolute difference per config. Re-running some
``--configs`` keeps the others. The RESULTS.md section is rendered from that JSON alone.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.results import provenance, write_section  # noqa: E402

#: The commit the scale issue was filed against (the first of its work).
BASE = "9905eb8a996041c0e349327274b4ee12400265a8"
BAR = 0.0005
RESULTS_JSON = ROOT / "bench" / "configs_unchanged.json"
#: Configs whose data is not the bundled sample's ratings (they name their own files) still run:
#: every config in configs/ is run as is, except the Spark one (its own bench: bench/spark.py).
SKIP = {"tuned_mix_spark"}


def run_config(tree: Path, config: str) -> dict:
    """``python -m genre run`` of ``configs/<config>.yaml`` inside ``tree``: its metrics JSON."""
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
           "PYTHONPATH": str(tree)}
    done = subprocess.run([sys.executable, "-m", "genre", "run", f"configs/{config}.yaml", "--json", "--no-save"],
                          cwd=tree, env=env, capture_output=True, text=True)
    if done.returncode:
        return {"error": (done.stderr.strip().splitlines() or ["exit " + str(done.returncode)])[-1]}
    return json.loads(done.stdout)["metrics"]


def compare(before: dict, after: dict) -> dict:
    """Largest |after − before| over every (row, metric) both runs report, and where it is."""
    worst = {"diff": 0.0, "where": None}
    for row, values in before.items():
        for metric, old in values.items():
            new = after.get(row, {}).get(metric)
            if old is None or new is None:
                continue
            if abs(new - old) > worst["diff"]:
                worst = {"diff": abs(new - old), "where": f"{row} {metric}", "before": old, "after": new}
    return worst


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", default=BASE)
    parser.add_argument("--configs", nargs="*", default=None, help="names in configs/ (default: all)")
    parser.add_argument("--render-only", action="store_true")
    args = parser.parse_args()
    results = json.loads(RESULTS_JSON.read_text()) if RESULTS_JSON.exists() else {"configs": {}}
    if not args.render_only:
        names = args.configs or sorted(p.stem for p in (ROOT / "configs").glob("*.yaml") if p.stem not in SKIP)
        with tempfile.TemporaryDirectory(prefix="genre-base-") as folder:
            tree = Path(folder) / "base"
            subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(tree), args.base],
                           check=True, capture_output=True)
            try:
                for name in names:
                    print(f"{name}: base …", flush=True)
                    before = run_config(tree, name) if (tree / "configs" / f"{name}.yaml").exists() \
                        else {"error": "not in the base commit"}
                    print(f"{name}: head …", flush=True)
                    after = run_config(ROOT, name)
                    entry = {"base": before, "head": after}
                    if "error" not in before and "error" not in after:
                        entry["largest_difference"] = compare(before, after)
                    results["configs"][name] = entry
                    results.update(provenance(ROOT, {}, sys.argv), base_commit=args.base)
                    RESULTS_JSON.write_text(json.dumps(results, indent=1) + "\n")
            finally:
                subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(tree)],
                               capture_output=True)
    write_section(ROOT / "bench" / "RESULTS.md", "configs-unchanged", "Configs: base commit vs HEAD",
                  render(results))


def render(results: dict) -> str:
    lines = [f"Every config run at the scale issue's base commit `{results.get('base_commit', BASE)[:7]}` and at "
             f"`{results.get('commit', '?')[:7]}` (`{' '.join(results.get('argv', []))}`, {results.get('date', '?')}); "
             f"the largest absolute difference over every metric of every row (each algorithm and the mix). "
             f"Bar: {BAR}.", "", "| config | largest difference | where | base → head | within bar |",
             "|---|---|---|---|---|"]
    for name, entry in sorted(results["configs"].items()):
        worst = entry.get("largest_difference")
        if worst is None:
            error = entry["base"].get("error") or entry["head"].get("error")
            lines.append(f"| {name} | — | {error} | | |")
        elif worst["where"] is None:
            lines.append(f"| {name} | 0 | | | yes |")
        else:
            lines.append(f"| {name} | {worst['diff']:.4f} | {worst['where']} | {worst['before']:.4f} → "
                         f"{worst['after']:.4f} | {'yes' if worst['diff'] <= BAR else 'no'} |")
    return "\n".join(lines)


if __name__ == "__main__":
    main()

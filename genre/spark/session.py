"""Starting a SparkSession, after checking what a person can fix: pyspark, Java 17+, the master.

Spark's own failures at start-up are a Java stack trace; each check here turns the usual
cause into one line that says what to install or which address to fix.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import warnings
from typing import Any

from genre.spark.errors import SparkError

_LOCAL = re.compile(r"local(\[(\*|[1-9]\d*)(,\s*[1-9]\d*)?\])?$")
_STANDALONE = re.compile(r"spark://([^:/]+):(\d+)$")


def require_pyspark() -> Any:
    """The ``pyspark`` module, or a SparkError saying how to install the optional extra."""
    try:
        import pyspark  # lazy: pyspark is an optional extra
    except ImportError:
        raise SparkError("the Spark engine needs pyspark, an optional extra: "
                         "pip install -r requirements-spark.txt (or GENRE_EXTRAS=spark scripts/install.sh)") from None
    return pyspark


def java_major(java: str | None = None) -> int:
    """Major version of the Java that Spark will start (JAVA_HOME's, else the one on PATH)."""
    if java is None:
        home = os.environ.get("JAVA_HOME")
        java = os.path.join(home, "bin", "java") if home else shutil.which("java")
    if not java or not os.path.exists(java):
        raise SparkError("Spark needs Java 17 or newer and none was found: install a JDK "
                         "(e.g. apt-get install openjdk-17-jre-headless) or set JAVA_HOME")
    try:
        out = subprocess.run([java, "-version"], capture_output=True, text=True, timeout=30).stderr
    except (OSError, subprocess.TimeoutExpired) as error:
        raise SparkError(f"cannot run {java} -version ({error}); fix the Java install or JAVA_HOME") from None
    found = re.search(r'version "(\d+)(?:\.(\d+))?', out)
    if not found:
        raise SparkError(f"cannot read the Java version from {java} -version; Spark needs Java 17 or newer")
    major = int(found.group(1))
    return int(found.group(2)) if major == 1 and found.group(2) else major


def check_master(master: str, timeout: float = 5.0) -> None:
    """Refuse a master URL that is malformed, or a standalone master that does not answer."""
    if _LOCAL.match(master) or master in ("yarn",) or master.startswith(("k8s://", "local-cluster[")):
        return
    standalone = _STANDALONE.match(master)
    if not standalone:
        raise SparkError(f"spark master {master!r} is not a Spark master URL; use local[*], local[2], "
                         f"spark://host:7077, yarn or k8s://https://host:port")
    host, port = standalone.group(1), int(standalone.group(2))
    try:
        socket.create_connection((host, port), timeout=timeout).close()
    except OSError as error:
        raise SparkError(f"spark master {master} does not answer ({error.strerror or error}); start the "
                         f"master, fix the address, or use --master local[*]") from None


def spark_session(master: str = "local[*]", *, driver_memory: str = "2g", shuffle_partitions: int = 8,
                  app_name: str = "genre", ui: bool = False) -> Any:
    """A SparkSession on ``master`` (checks first; the UI off unless asked).

    Why these settings: adaptive execution merges small shuffle partitions; a few shuffle
    partitions per core (not Spark's 200) suit a laptop-sized local run; Arrow moves
    results to pandas without pickling row by row.
    """
    require_pyspark()
    major = java_major()
    if major < 17:
        raise SparkError(f"Spark 4 needs Java 17 or newer; this machine runs Java {major}: install "
                         f"openjdk-17 and point JAVA_HOME at it")
    check_master(master)
    from pyspark.sql import SparkSession  # lazy: pyspark is an optional extra

    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)  # workers: this interpreter, not PATH's python3
    builder = (SparkSession.builder.master(master).appName(app_name)
               .config("spark.ui.enabled", str(bool(ui)).lower())
               .config("spark.driver.memory", driver_memory)
               .config("spark.sql.shuffle.partitions", str(int(shuffle_partitions)))
               .config("spark.sql.adaptive.enabled", "true")
               .config("spark.sql.execution.arrow.pyspark.enabled", "true")
               .config("spark.sql.session.timeZone", "UTC")
               .config("spark.ui.showConsoleProgress", "false")
               .config("spark.sql.maxPlanStringLength", "100000"))  # a long plan's text must not fill the heap
    warnings.filterwarnings("ignore", message="PySpark does not yet fully support pandas")
    try:
        session = builder.getOrCreate()
    except Exception as error:  # a JVM start-up failure: one line, not a Java trace
        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise SparkError(f"Spark did not start on {master}: {first}") from None
    session.sparkContext.setLogLevel("ERROR")
    return session

"""``engine: spark``: the same run on a SparkSession, for logs larger than one machine holds.

The stages mirror the local engine (genre.run.experiment): load with the same column mapping and
cleaning rules, the same temporal / random per-user split (the same TRAIN/TEST rows),
per-algorithm top-C candidates normalized per user, the weighted mix, top-k per user and
the metrics of ``genre.evaluate`` over a seeded sample of test users. The outcome is the
same ``RunResult``, saved to the same registry; the top-k lists go to Parquet for serving.
pyspark is an optional extra (``pip install -r requirements-spark.txt``), imported lazily.
"""

from genre.spark.errors import SparkError
from genre.spark.algorithms import SPARK_ALGORITHMS
from genre.spark.run import run_on_spark

__all__ = ["SPARK_ALGORITHMS", "SparkError", "run_on_spark"]

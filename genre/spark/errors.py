"""The Spark engine's error for a person: what is missing or unreachable and what to do."""

from genre.errors import GenreError


class SparkError(GenreError):
    """Spark cannot run here as configured (no pyspark, no Java 17+, master unreachable...)."""

"""Errors meant for a person: each message says what is wrong and what to do about it.

The app shows these with ``st.error`` and the CLI prints them on one line (exit status 2);
any other exception is a bug in GENRE.
"""


class GenreError(Exception):
    """Base class of every error whose message is written for the user."""


class DataError(GenreError):
    """A data file or table cannot be used as given (missing column, bad encoding, empty...)."""


class ConfigError(GenreError):
    """A configuration value or file is invalid."""


class NotFittedError(GenreError):
    """A model was used before ``fit``."""


class EncoderError(GenreError):
    """An encoder cannot be loaded or run (e.g. a hub model while offline)."""


class LLMError(GenreError):
    """A language model client failed (server down, timeout, malformed reply)."""


class Cancelled(GenreError):
    """Long work stopped because the person asked (the app's Cancel): a ``progress`` callback may
    raise it to stop a run, a tuning or a sweep; nothing the work would have produced is kept."""


def check_known_keys(data: dict, valid: list[str], where: str) -> None:
    """ConfigError naming ``where`` when ``data`` has keys outside ``valid`` (listing the valid ones).

    The one check behind every mapping read from a config: run settings, column mappings,
    cleaning options.
    """
    unknown = [str(k) for k in data if k not in valid]
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {', '.join(unknown)}; valid keys: {', '.join(valid)}")


class PersistError(GenreError):
    """A saved trained run that cannot be written or read (tampered, incompatible, incomplete)."""


class FoldInError(GenreError):
    """An algorithm that cannot score a history it was not trained on."""

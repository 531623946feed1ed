"""One run as typed dataclasses, to and from YAML.

Unknown keys are an error that lists the valid ones, values are type-checked on load, and
YAML is read by a bounded safe loader only (size, depth and alias expansion capped). Relative data paths in a config file are resolved
against the file's folder, so a config travels with its data.

Examples
--------
>>> cfg = RunConfig.from_dict({"algorithms": [{"name": "ease", "params": {"l2": 250}}]})
>>> cfg.algorithms[0].weight
1.0
>>> RunConfig.from_dict(yaml.safe_load(dump_config(cfg))) == cfg
True
"""

from __future__ import annotations

import codecs
import dataclasses
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from genre.algorithms import ALGORITHM_NAMES
from genre.bounds import bounds_for, check, check_length, check_params
from genre.errors import ConfigError, check_known_keys
from genre.evaluate import RANKING_METRICS
from genre.safe_yaml import MAX_CONFIG_BYTES, bounded_safe_load


@dataclass
class DataConfig:
    """Where the data is and how to read and clean it."""

    source: str | list[str] = "sample_data"  # folder, file or list of files (preset detection)
    items: str | None = None                 # optional separate item file
    mapping: dict[str, Any] = field(default_factory=dict)   # column-mapping overrides
    cleaning: dict[str, Any] = field(default_factory=dict)  # CleaningOptions fields
    encoding: str | None = None


@dataclass
class SplitConfig:
    """How to hold out test data (validation is carved from train by the same rule)."""

    method: str = "temporal"                 # temporal | random | leave_last_out | cold_items
    params: dict[str, Any] = field(default_factory=dict)


@dataclass
class ModalityConfig:
    """Which item fields feed which encoder, with the modality's weight in the item vector."""

    name: str = "text"
    fields: list[str] = field(default_factory=lambda: ["title", "genres", "tags"])
    encoder: str = "tfidf"
    params: dict[str, Any] = field(default_factory=dict)
    weight: float = 1.0


@dataclass
class FeaturesConfig:
    """Item (and user) content: modalities plus optional LLM-written text files."""

    modalities: list[ModalityConfig] = field(default_factory=lambda: [ModalityConfig()])
    enrichment: str | None = None            # CSV item_id,text written by an LLM → field "llm_text"
    profiles: str | None = None              # CSV user,text written by an LLM → user vectors
    profile_encoder: str = "minilm"          # encoder of profile texts and free-text queries


@dataclass
class AlgorithmConfig:
    """One algorithm of the mix."""

    name: str = "ease"
    params: dict[str, Any] = field(default_factory=dict)
    weight: float = 1.0
    enabled: bool = True
    features: FeaturesConfig | None = None   # its own item-vector space; None = the run's ``features``
    algorithm: str | None = None             # the registered algorithm when ``name`` is a label, so one
                                             # algorithm can appear twice (e.g. on two vector spaces)

    @property
    def kind(self) -> str:
        """The registered algorithm this entry fits (``algorithm``, else ``name``)."""
        return self.algorithm or self.name


@dataclass
class FusionConfig:
    """How per-algorithm scores are made comparable before the weighted sum."""

    normalization: str = "minmax"            # minmax | zscore | rank | none
    temperature: float | None = None         # softmax temperature per algorithm; None = off
    candidates: int = 100                    # top items per algorithm kept per user (genre.store)


@dataclass
class TuningConfig:
    """Auto-tuning on the validation carve (never on test)."""

    enabled: bool = False
    weights: bool = True                     # tune mix weights
    hyperparameters: bool = False            # tune each algorithm's key hyper-parameter first
    n_trials: int = 40                       # random points on the weight simplex (plus coordinate ascent)
    metric: str = "ndcg@10"


@dataclass
class EvaluationConfig:
    """Cut-offs and slices of the evaluation."""

    ks: list[int] = field(default_factory=lambda: [10, 20])
    activity_threshold: int = 20             # users with ≤ this many training interactions = "cold users"
    head_fraction: float = 0.2               # most popular share of items = "head"
    max_users: int = 20_000                  # above it: a seeded sample of test users, with 95 % intervals


@dataclass
class SparkConfig:
    """Where an ``engine: spark`` run goes (genre.spark); ignored by the local engine."""

    master: str = "local[*]"                 # local[N] | spark://host:port | yarn | k8s://...
    driver_memory: str = "2g"                # spark.driver.memory (in local mode: the whole JVM)
    shuffle_partitions: int = 8              # spark.sql.shuffle.partitions (a few per core)
    knn_history: int = 200                   # item_knn: each user's latest N interactions (cost ∝ N²)
    output: str | None = None                # folder for the top-k Parquet; None = GENRE's data dir


@dataclass
class RunConfig:
    """Everything one run needs; ``Experiment(RunConfig(...)).run()`` executes it."""

    name: str = "run"
    data: DataConfig = field(default_factory=DataConfig)
    split: SplitConfig = field(default_factory=SplitConfig)
    features: FeaturesConfig = field(default_factory=FeaturesConfig)
    algorithms: list[AlgorithmConfig] = field(default_factory=lambda: [AlgorithmConfig()])
    fusion: FusionConfig = field(default_factory=FusionConfig)
    tuning: TuningConfig = field(default_factory=TuningConfig)
    evaluation: EvaluationConfig = field(default_factory=EvaluationConfig)
    seed: int = 42
    engine: str = "local"                    # local (in-process) | spark (genre.spark)
    spark: SparkConfig = field(default_factory=SparkConfig)

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> "RunConfig":
        """Build and validate from plain data (e.g. parsed YAML)."""
        config = _build(cls, data or {}, "config")
        for owner, params in zip(_param_owners(config), _bounded_params(config)):
            owner.params = params  # integral floats → int, ints → float, as each parameter is typed
        config.validate()
        return config

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def copy(self) -> "RunConfig":
        """A validated deep copy, the caller's to edit (a run never edits the config it was given)."""
        return RunConfig.from_dict(self.to_dict())

    def validate(self) -> None:
        """Check values that types alone cannot (names, ranges); raise ConfigError."""
        if not self.algorithms:
            raise ConfigError("config.algorithms is empty: list at least one algorithm, e.g. "
                              "[{name: ease}]")
        for i, algo in enumerate(self.algorithms):
            if algo.kind not in ALGORITHM_NAMES:
                where = "algorithm" if algo.algorithm else "name"
                raise ConfigError(f"config.algorithms[{i}].{where}: unknown algorithm {algo.kind!r}; "
                                  f"valid names: {', '.join(ALGORITHM_NAMES)}")
            if not algo.name.strip():
                raise ConfigError(f"config.algorithms[{i}].name is empty: give the entry a label")
            if algo.features is not None and not algo.features.modalities:
                raise ConfigError(f"config.algorithms[{i}].features lists no modalities: give at least "
                                  f"one, or leave features out to use the run's")
        names = [a.name for a in self.algorithms]
        if len(set(names)) != len(names):
            raise ConfigError(f"config.algorithms lists a name twice: {names}; to use one algorithm twice, "
                              f"give each entry its own name and set algorithm: <registered name>")
        if not any(a.enabled for a in self.algorithms):
            raise ConfigError("every algorithm is disabled: enable at least one")
        if self.fusion.normalization not in NORMALIZATIONS:
            raise ConfigError(f"config.fusion.normalization must be one of {', '.join(NORMALIZATIONS)}, "
                              f"got {self.fusion.normalization!r}")
        if not self.evaluation.ks:
            raise ConfigError("config.evaluation.ks is empty: list at least one cut-off, e.g. [10, 20]")
        if self.engine not in ENGINES:
            raise ConfigError(f"config.engine must be one of {', '.join(ENGINES)}, got {self.engine!r}")
        self._check_bounds()
        _check_tuning_metric(self.tuning.metric)
        _check_encoding(self.data.encoding)

    def _check_bounds(self) -> None:
        """Every number of the config inside its range (genre.bounds); never mutates."""
        check(self.seed, bounds_for("config", "seed"), "config.seed")
        for i, part in enumerate(self.algorithms):
            check(part.weight, bounds_for("weights", "weight"), f"config.algorithms[{i}].weight")
        for where, part in _modalities(self):
            check(part.weight, bounds_for("weights", "weight"), f"{where}.weight")
        _bounded_params(self)
        for section in ("fusion", "tuning", "evaluation", "spark"):
            part = getattr(self, section)
            for name in _field_names(type(part)):
                bound, value = bounds_for(section, name), getattr(part, name)
                if bound is None:
                    continue
                items = enumerate(value) if isinstance(value, list) else [(None, value)]
                for j, item in items:  # a list (evaluation.ks) is checked item by item
                    check(item, bound, f"config.{section}.{name}" + ("" if j is None else f"[{j}]"))

    def algorithm(self, name: str) -> AlgorithmConfig:
        for algo in self.algorithms:
            if algo.name == name:
                return algo
        raise ConfigError(f"no algorithm {name!r} in this config; it has: "
                          f"{', '.join(a.name for a in self.algorithms)}")


NORMALIZATIONS = ("minmax", "zscore", "rank", "none")
ENGINES = ("local", "spark")


def _modalities(config: RunConfig) -> list[tuple[str, ModalityConfig]]:
    """Every modality of the config (the run's, then each algorithm's own space) with its path."""
    found = [(f"config.features.modalities[{i}]", m) for i, m in enumerate(config.features.modalities)]
    for j, algo in enumerate(config.algorithms):
        if algo.features is not None:
            found += [(f"config.algorithms[{j}].features.modalities[{i}]", m)
                      for i, m in enumerate(algo.features.modalities)]
    return found


def _param_owners(config: RunConfig) -> list[Any]:
    """The parts of a config that carry a ``params`` dict, in ``_bounded_params`` order."""
    return [*config.algorithms, *(m for _, m in _modalities(config)), config.split]


def _bounded_params(config: RunConfig) -> list[dict[str, Any]]:
    """Each ``params`` dict of ``_param_owners`` checked against genre.bounds (normalized copies)."""
    checked = [check_params(a.kind, a.params, a.name) for a in config.algorithms]
    checked += [check_params(f"encoder:{m.encoder}", m.params, f"{where}.params")
                for where, m in _modalities(config)]
    return checked + [check_params("split", config.split.params, "config.split.params")]


def parse_config_text(text: str) -> RunConfig:
    """A ``RunConfig`` from YAML TEXT (never a path): what the app's import box calls.

    Relative data paths are left as written (the app confines them with
    ``genre.hosting.confine_config``). The parser is bounded (size, depth, alias expansion).

    Raises
    ------
    ConfigError
        Too large, too deep, too many (expanded) nodes, not YAML, not a mapping, or invalid.
    """
    if not isinstance(text, str):
        raise ConfigError(f"the config must be YAML text, got {type(text).__name__}")
    data = bounded_safe_load(text)
    if data is not None and not isinstance(data, dict):
        hint = "; paste the YAML text itself (a file path is never read)" if isinstance(data, str) else ""
        raise ConfigError(f"the config must be a YAML mapping at the top level, got {type(data).__name__}{hint}")
    return RunConfig.from_dict(data)


def load_config(source: str | Path) -> RunConfig:
    """Read a YAML config from a path or from YAML text; data paths resolve against its folder.

    For the CLI (the machine's owner may name any file); same bounded parser as
    ``parse_config_text``.
    """
    text, base = _read_source(source)
    config = parse_config_text(text)
    if base is not None:
        config.data = _resolve_paths(config.data, base)
    return config


def dump_config(config: RunConfig) -> str:
    """YAML text of a config (round-trips through ``load_config``)."""
    return yaml.safe_dump(config.to_dict(), sort_keys=False, allow_unicode=True)


def save_config(config: RunConfig, path: str | Path) -> None:
    Path(path).write_text(dump_config(config), encoding="utf-8")


def _read_source(source: str | Path) -> tuple[str, Path | None]:
    path = Path(source) if isinstance(source, Path) or "\n" not in str(source) else None
    if path is not None and path.suffix.lower() in (".yaml", ".yml", ".json") or (
            path is not None and path.exists()):
        if path.is_dir():
            raise ConfigError(f"config {path} is a folder; give the path of a .yaml file")
        if not path.exists():
            raise ConfigError(f"config file {path} not found")
        try:
            if path.stat().st_size > MAX_CONFIG_BYTES:
                raise ConfigError(f"config file {path} is larger than {MAX_CONFIG_BYTES // 1024} KB; "
                                  f"a run config is a few KB of YAML")
            return path.read_text(encoding="utf-8"), path.resolve().parent
        except UnicodeDecodeError:
            raise ConfigError(f"{path} is not UTF-8 text") from None
        except OSError as error:
            raise ConfigError(f"cannot read config file {path}: {error.strerror or error}") from None
    return str(source), None


def _check_tuning_metric(metric: str) -> None:
    """``metric`` must be one the tuner can compute (``ndcg@10``, ``auc``, ``coverage@20``...)."""
    ranking = tuple(RANKING_METRICS)
    lists = ("coverage", "novelty")  # list metrics the tuner computes without item vectors
    name, at, cut = str(metric).partition("@")
    valid = metric == "auc" or (at and name in ranking + lists and cut.isdigit())
    if not valid:
        raise ConfigError(f"config.tuning.metric: unknown metric {metric!r}; valid: auc, or NAME@K with "
                          f"NAME one of {', '.join(ranking + lists)} (e.g. ndcg@10)")
    if at:
        check(int(cut), bounds_for("evaluation", "ks"), "config.tuning.metric cut-off")


def _check_encoding(encoding: str | None) -> None:
    if encoding is None:
        return
    try:
        info = codecs.lookup(encoding)
    except (LookupError, TypeError, ValueError):
        info = None
    if info is None or not getattr(info, "_is_text_encoding", True):
        raise ConfigError(f"config.data.encoding: unknown text encoding {encoding!r}; use e.g. utf-8, "
                          f"latin-1, cp1252, utf-16, gb18030, shift_jis (any Python codec name)")


def _resolve_paths(data: DataConfig, base: Path) -> DataConfig:
    def resolve(value: str) -> str:
        candidate = Path(value).expanduser()
        if candidate.is_absolute():
            return str(candidate)
        local = base / candidate
        return str(local) if local.exists() or not candidate.exists() else str(candidate)

    source = [resolve(s) for s in data.source] if isinstance(data.source, list) else resolve(data.source)
    items = resolve(data.items) if data.items else None
    return dataclasses.replace(data, source=source, items=items)


def _build(cls: type, data: Any, where: str) -> Any:
    """Instantiate dataclass ``cls`` from ``data`` with readable errors (unknown keys, types)."""
    if isinstance(data, cls):
        return data
    if not isinstance(data, dict):
        raise ConfigError(f"{where} must be a mapping with keys {', '.join(_field_names(cls))}, "
                          f"got {type(data).__name__}")
    check_known_keys(data, _field_names(cls), where)
    hints = typing.get_type_hints(cls)
    kwargs = {name: _coerce(hints[name], value, f"{where}.{name}") for name, value in data.items()}
    return cls(**kwargs)


def _field_names(cls: type) -> list[str]:
    return [f.name for f in dataclasses.fields(cls)]


def _coerce(hint: Any, value: Any, where: str) -> Any:
    """Check ``value`` against a type hint, converting only the lossless cases (int → float)."""
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        errors = []
        for option in (a for a in args if a is not type(None)):
            try:
                return _coerce(option, value, where)
            except ConfigError as error:
                errors.append(str(error))
        raise ConfigError(errors[0] if len(errors) == 1 else
                          f"{where}: {value!r} fits none of the allowed types")
    if dataclasses.is_dataclass(hint):
        return _build(hint, value, where)
    if origin is list:
        if not isinstance(value, list):
            raise ConfigError(f"{where} must be a list, got {type(value).__name__} {value!r}")
        return [_coerce(args[0], v, f"{where}[{i}]") for i, v in enumerate(check_length(value, where))]
    if origin is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"{where} must be a mapping, got {type(value).__name__} {value!r}")
        return dict(value)
    if hint is Any:
        return value
    if hint is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if hint in (int, float) and isinstance(value, bool) or not isinstance(value, hint):
        raise ConfigError(f"{where} must be {hint.__name__}, got {type(value).__name__} {value!r}")
    return value

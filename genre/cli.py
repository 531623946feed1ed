"""``python -m genre``: the app's runs, headless. The only module that reads argv.

Errors meant for a person print one line and exit with status 2.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from typing import Any, Sequence

from genre.bounds import bounds_for, check
from genre.config import RunConfig, load_config
from genre.data import load_dataset
from genre.errors import GenreError
from genre.run import Experiment
from genre.runs import RunRegistry, operator_owner
from genre.serving import serve
from genre.spark import run_on_spark

log = logging.getLogger("genre")


def main(argv: Sequence[str] | None = None) -> int:
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    parser = _parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(levelname)s %(message)s", stream=sys.stderr)
    try:
        args.handler(args)
    except GenreError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m genre", description=__doc__.splitlines()[0])
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress to stderr")
    sub = parser.add_subparsers(dest="command", required=True)

    info = sub.add_parser("info", help="detected preset, column mapping and counts of a dataset")
    info.add_argument("paths", nargs="+", help="a folder or data files")
    info.add_argument("--json", action="store_true")
    info.set_defaults(handler=cmd_info)

    evaluate = sub.add_parser("evaluate", help="one algorithm's test metrics on a dataset")
    evaluate.add_argument("paths", nargs="+")
    evaluate.add_argument("--algorithm", default="popularity")
    evaluate.add_argument("--param", action="append", default=[], metavar="NAME=VALUE",
                          help="algorithm hyper-parameter (repeatable), e.g. --param l2=250")
    evaluate.add_argument("--split", default="temporal")
    evaluate.add_argument("--k", type=int, nargs="+", default=[10])
    evaluate.add_argument("--seed", type=int, default=42)
    evaluate.add_argument("--json", action="store_true")
    evaluate.set_defaults(handler=cmd_evaluate)

    run = sub.add_parser("run", help="run a config: metrics per algorithm and for the mix; saved as a run")
    run.add_argument("config")
    run.add_argument("--json", action="store_true")
    run.add_argument("--registry", help="run registry file (default: the user's data directory)")
    run.add_argument("--no-save", action="store_true", help="do not save the run in the registry")
    run.add_argument("--engine", choices=("local", "spark"), help="override the config's engine (default: local)")
    run.add_argument("--master", help="Spark master for --engine spark, e.g. local[2], spark://host:7077, yarn")
    run.add_argument("--data", metavar="SOURCE", help="run on this interaction data instead of the config's "
                     "(a file, folder or glob; e.g. the whole log behind the sample a mix was designed on)")
    run.add_argument("--save", metavar="PATH", help="also save the trained run (models, store, data) to the "
                     "folder PATH, for `python -m genre serve PATH`")
    run.set_defaults(handler=cmd_run)

    serve = sub.add_parser("serve", help="serve a saved trained run over HTTP (docs at /docs)")
    serve.add_argument("run_path", help="a folder `run --save` wrote")
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1: this machine only)")
    serve.add_argument("--port", type=int, default=8000)
    serve.set_defaults(handler=cmd_serve)

    recommend = sub.add_parser("recommend", help="top-k for one user, with explanations")
    recommend.add_argument("config")
    recommend.add_argument("--user", required=True)
    recommend.add_argument("-k", type=int, default=10)
    recommend.add_argument("--json", action="store_true")
    recommend.set_defaults(handler=cmd_recommend)

    runs = sub.add_parser("runs", help="list saved runs, or compare some")
    runs.add_argument("--compare", type=int, nargs="+", metavar="ID")
    runs.add_argument("--registry")
    runs.add_argument("--json", action="store_true")
    runs.set_defaults(handler=cmd_runs)
    return parser


# ---------------------------------------------------------------------------- commands
def cmd_info(args: argparse.Namespace) -> None:

    dataset = load_dataset(_source(args.paths))
    summary = dataset.summary()
    _emit(summary, args.json, _format_summary)


def cmd_evaluate(args: argparse.Namespace) -> None:

    config = RunConfig.from_dict({"data": {"source": _source(args.paths)}, "split": {"method": args.split},
                                  "algorithms": [{"name": args.algorithm, "params": _params(args.param)}],
                                  "seed": args.seed, "evaluation": {"ks": list(args.k)}})
    if args.algorithm not in ("content", "content_to_cf", "two_tower", "profile"):
        config.features.modalities = []  # no content needed: skip encoding
    result = Experiment(config).run()
    metrics = {k: float(v) for k, v in result.metrics.loc[args.algorithm].items()}
    _emit(metrics, args.json, lambda m: "\n".join(f"{k:>20}  {v:.4f}" for k, v in m.items()))


def cmd_run(args: argparse.Namespace) -> None:

    config = load_config(args.config)
    if args.data:
        config.data.source = args.data
    progress = _stderr_progress if args.verbose else None
    if (args.engine or config.engine) == "spark":
        if args.save:
            raise GenreError("--save needs the local engine: the Spark engine keeps no trained models here")
        result = run_on_spark(config, master=args.master, progress=progress)
    else:
        experiment = Experiment(config)
        result = experiment.run(progress=progress)
    record = result.to_json()
    if args.save:
        manifest = experiment.trained_.save(args.save)
        record["saved"] = {"path": str(args.save), "bytes": manifest["bytes"]}
    if not args.no_save:
        record["run_id"] = RunRegistry(args.registry, owner=operator_owner()).save(result)
    _emit(record, args.json, lambda r: _format_metrics(result.metrics) + _format_weights(r))


def cmd_recommend(args: argparse.Namespace) -> None:

    check(args.k, bounds_for("evaluation", "ks"), "-k")  # before training, not after
    trained = Experiment(load_config(args.config)).train()
    frame = trained.recommend(args.user, k=args.k, explain=True)
    records = json.loads(frame.to_json(orient="records"))
    _emit(records, args.json, lambda _: frame.drop(columns=["genres"]).to_string(index=False))


def cmd_serve(args: argparse.Namespace) -> None:
    if not 0 < args.port < 65536:
        raise GenreError(f"--port must be 1..65535, got {args.port}")
    serve(args.run_path, host=args.host, port=args.port)  # fastapi/uvicorn load only here


def cmd_runs(args: argparse.Namespace) -> None:

    registry = RunRegistry(args.registry)
    frame = registry.compare(args.compare) if args.compare else registry.list()
    if args.json:
        print(frame.to_json(orient="split" if args.compare else "records"))
    else:
        print(frame.to_string() if len(frame) else "no saved runs yet")


# ---------------------------------------------------------------------------- helpers
def _source(paths: list[str]) -> str | list[str]:
    return paths[0] if len(paths) == 1 else list(paths)


def _params(pairs: list[str]) -> dict[str, Any]:
    """``name=value`` pairs; values read as numbers, true/false/null, or else text (no YAML:
    a stray bracket is text, not a parse error). Ranges are checked by ``RunConfig.validate``."""
    params = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip() or not value.strip():
            raise GenreError(f"--param {pair!r}: write it as NAME=VALUE, e.g. l2=250")
        params[name.strip()] = _scalar(value.strip())
    return params


def _scalar(text: str) -> Any:
    words = {"true": True, "false": False, "null": None, "none": None}
    if text.lower() in words:
        return words[text.lower()]
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            continue
    return text


def _emit(payload: Any, as_json: bool, formatter) -> None:
    print(json.dumps(payload, indent=None if as_json else 2, default=str) if as_json else formatter(payload))


def _format_summary(summary: dict) -> str:
    lines = [f"{key}: {value}" for key, value in summary.items() if key != "notes"]
    lines += [f"note: {note}" for note in summary.get("notes", [])]
    return "\n".join(lines)


def _format_metrics(metrics) -> str:
    return metrics.to_string(float_format=lambda v: f"{v:.4f}") + "\n"


def _format_weights(record: dict) -> str:
    weights = ", ".join(f"{k}={v:g}" for k, v in record["weights"].items())
    saved = f"\nsaved as run {record['run_id']}" if "run_id" in record else ""
    if "saved" in record:
        saved += f"\ntrained run saved to {record['saved']['path']} ({record['saved']['bytes'] / 1e6:,.1f} MB)"
    return f"weights: {weights}{saved}"


def _stderr_progress(done: int, total: int, message: str) -> None:
    counter = f"[{done}/{total}] " if total else ""
    print(f"{counter}{message}", file=sys.stderr)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

"""The hostile-input corpus at the library level (issue 7).

Every case of ``tests/corpus/cases.yaml`` goes to one public entry point; it must either raise
the named ``GenreError`` subclass with a message a person can act on, or load and report what
it did. Any other exception fails the test: that is a bug in GENRE. Nothing may ever be
unpickled or executed: files with a pickle payload would create a ``PWNED-*`` marker file,
and a scan of the sources finds no call that unpickles, evaluates or renders raw HTML.
"""

from __future__ import annotations

import ast
import io
import logging
import sys
from pathlib import Path
from typing import Any, Callable

import pytest
import yaml

from genre import errors
from genre.errors import GenreError

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "tests" / "corpus"
FILES = CORPUS / "files"
sys.path.insert(0, str(CORPUS))
from make_corpus import GENERATORS, make_file  # noqa: E402

CASES: list[dict[str, Any]] = yaml.safe_load((CORPUS / "cases.yaml").read_text(encoding="utf-8"))
FILE_OPTIONS = ("items", "ids")  # options whose value names another corpus file


def corpus_file(name: str, folder: Path) -> Path:
    """A committed corpus file, or a generated one written into ``folder``."""
    committed = FILES / name
    return committed if committed.exists() else make_file(name, folder)


def upload(path: Path) -> io.BytesIO:
    """The file as the app hands it over: bytes with a name."""
    buffer = io.BytesIO(path.read_bytes())
    buffer.name = path.name
    return buffer


# ---------------------------------------------------------------------------- entry points
# Each returns a short text of what it loaded, for the case's message fragment to be found in.
def _dataset_text(ds) -> str:
    return (f"users={ds.user_ids.tolist()[:10]} items={ds.item_ids.tolist()[:10]} "
            f"ratings={sorted(ds.interactions['rating'].tolist())[:10]} "
            f"titles={ds.items['title'].tolist()[:10]} notes={ds.notes}")


def _load_dataset(source, **options) -> str:
    from genre.data import load_dataset

    return _dataset_text(load_dataset(source, **options))


def _load_interactions(source, **options) -> str:
    from genre.data import load_interactions

    frame = load_interactions(source, **options)
    return (f"users={frame['user'].tolist()[:10]} ratings={frame['rating'].tolist()[:10]} "
            f"timestamps={frame['timestamp'].tolist()[:10]}")


def _load_items(source, **options) -> str:
    from genre.data import load_items

    frame = load_items(source, **options)
    return f"titles={frame['title'].tolist()[:10]} title lengths={frame['title'].str.len().tolist()[:10]}"


def _temporal_split(source, **options) -> str:
    from genre.data import load_dataset
    from genre.split import temporal_split

    ds = load_dataset(source, **options)
    split = temporal_split(ds.interactions, ds.n_users, ds.n_items)
    return f"train={len(split.train)} test={len(split.test)}"


def _load_config(path: Path) -> str:
    from genre.config import load_config

    return repr(load_config(path))


def _import_config(path: Path) -> str:
    """The app's import box: YAML text only, then every path confined (the app runs from ROOT)."""
    import os

    from genre.config import parse_config_text
    from genre.hosting.confine import confine_config

    config = parse_config_text(path.read_text(encoding="utf-8"))
    here = Path.cwd()
    os.chdir(ROOT)
    try:
        confine_config(config)
    finally:
        os.chdir(here)
    return repr(config)


def _images_from_zip(path: Path) -> str:
    from genre.encoders.image import images_from_zip

    return f"images={sorted(images_from_zip(path.read_bytes(), [10, 11, 0, 1, 2, 3]))}"


def _image_encoder(path: Path) -> str:
    from genre.encoders.image import ImageEncoder

    encoder = ImageEncoder()
    vectors = encoder.encode([path.read_bytes()])
    report = encoder.last_report
    assert vectors.shape == (1, encoder.dim) and not vectors.any()  # a zero row, not a crash
    return f"missing={report['missing']} unreadable={report['unreadable']}"


def _load_vectors(path: Path, **options) -> str:
    from genre.encoders.precomputed import load_vectors

    ids, matrix = load_vectors(path, **options)
    return f"ids={ids} shape={matrix.shape}"


def _run_registry(path: Path) -> str:
    from genre.runs import RunRegistry

    return f"runs={len(RunRegistry(path).list())}"


def _llm_cache(path: Path) -> str:
    from genre.llm.cache import OutputCache

    cache = OutputCache(path.parent)
    cache.put("model", "prompt", 8, 0.0, "output")
    return f"cached={len(cache) - 1} get={cache.get('model', 'prompt', 8, 0.0)}"


ENTRY_POINTS: dict[str, Callable[..., str]] = {
    "load_dataset": _load_dataset, "load_interactions": _load_interactions, "load_items": _load_items,
    "temporal_split": _temporal_split, "load_config": _load_config, "import_config": _import_config,
    "images_from_zip": _images_from_zip,
    "image_encoder": _image_encoder, "load_vectors": _load_vectors, "run_registry": _run_registry,
    "llm_cache": _llm_cache,
}
#: Entry points that also take an upload (named file-like) instead of a path.
TAKES_UPLOADS = ("load_dataset", "load_interactions", "load_items")


def _params():
    for case in CASES:
        marks = [pytest.mark.xfail(reason=case["xfail"], strict=True)] if case.get("xfail") else []
        yield pytest.param(case, id=case["id"], marks=marks)


def _outcome(entry: Callable[..., str], source: Any, options: dict[str, Any]) -> tuple[str, str]:
    """("ok", what it reported plus the notes it logged) or (error class, message)."""
    records: list[str] = []
    handler = logging.Handler(logging.INFO)
    handler.emit = lambda record: records.append(record.getMessage())
    logger = logging.getLogger("genre")
    logger.addHandler(handler)
    old_level = logger.level
    logger.setLevel(logging.INFO)
    try:
        text = entry(source, **options)
    except GenreError as error:
        return type(error).__name__, str(error)
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old_level)
    return "ok", " ".join([text, *records])


@pytest.mark.parametrize("case", list(_params()))
def test_corpus_case(case, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # where a YAML payload with a relative path would write
    monkeypatch.delenv("GENRE_DATA_ROOTS", raising=False)  # the default roots: sample data + uploads
    entry = ENTRY_POINTS[case["entry"]]
    path = corpus_file(case["file"], tmp_path)
    options = dict(case.get("options") or {})
    for key in FILE_OPTIONS:
        if key in options:
            options[key] = corpus_file(options[key], tmp_path)
    kind, text = _outcome(entry, path, options)
    expected = case["expect"]
    if expected == "ok":
        assert kind == "ok", f"expected it to load, got {kind}: {text}"
    else:
        assert kind != "ok", f"expected {expected}, but it loaded: {text[:300]}"
        assert issubclass(getattr(errors, kind), getattr(errors, expected)), f"{kind}: {text}"
    assert case["message"].lower() in text.lower(), text[:2000]
    if case["entry"] in TAKES_UPLOADS:  # the app's path: the same bytes as an upload
        uploaded = {k: upload(v) if isinstance(v, Path) else v for k, v in options.items()}
        assert _outcome(entry, upload(path), uploaded) == (kind, text)
    assert not list(tmp_path.glob("PWNED*")), "a payload ran: something unpickled or executed the input"


# ---------------------------------------------------------------------------- the corpus itself
def test_corpus_has_forty_distinct_cases_with_known_entries():
    ids = [c["id"] for c in CASES]
    assert len(ids) >= 40 and len(set(ids)) == len(ids)
    for case in CASES:
        assert set(case) <= {"id", "file", "entry", "options", "expect", "message", "why", "xfail", "app"}, case
        assert case["entry"] in ENTRY_POINTS, case["id"]
        assert case["expect"] == "ok" or issubclass(getattr(errors, case["expect"]), GenreError), case["id"]
        assert case["message"].strip(), case["id"]
        names = [case["file"]] + [case.get("options", {}).get(k) for k in FILE_OPTIONS]
        for name in filter(None, names):
            assert (FILES / name).exists() or name in GENERATORS, f"{case['id']}: no corpus file {name}"


def test_committed_corpus_is_small_and_every_file_is_used():
    used = {c["file"] for c in CASES} | {c.get("options", {}).get(k) for c in CASES for k in FILE_OPTIONS}
    committed = [p for p in FILES.iterdir() if p.is_file()]
    assert sum(p.stat().st_size for p in committed) < 1_000_000
    assert sorted(p.name for p in committed if p.name not in used) == []
    assert sorted(set(GENERATORS) - used) == []
    assert not set(GENERATORS) & {p.name for p in committed}  # one source per file name


# ---------------------------------------------------------------------------- nothing runs what it was sent
_UNPICKLERS = {"pickle", "cPickle", "dill", "joblib", "marshal", "shelve", "cloudpickle"}


def _unsafe_calls(tree: ast.AST) -> list[str]:
    """Calls that could run code sent in a file, or render user text as HTML."""
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func, keywords = node.func, {k.arg: k.value for k in node.keywords}
        owner = func.value.id if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) else None
        name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
        flagged = (
            (owner in _UNPICKLERS and name in ("load", "loads", "open", "Unpickler"))
            or (owner == "yaml" and name in ("load", "load_all", "unsafe_load", "full_load"))
            or (owner in ("pd", "pandas") and name == "read_pickle")
            or (owner == "torch" and name == "load" and not _is_true(keywords.get("weights_only")))
            or (isinstance(func, ast.Name) and name in ("eval", "exec", "compile", "__import__"))
            or (owner == "st" and name == "html")
            or _is_true(keywords.get("allow_pickle")) or _is_true(keywords.get("unsafe_allow_html"))
            or _is_true(keywords.get("shell"))
        )
        if flagged:
            found.append(f"line {node.lineno}: {ast.unparse(node)[:100]}")
    return found


def _is_true(value: ast.AST | None) -> bool:
    return value is not None and not (isinstance(value, ast.Constant) and value.value in (False, None))


def test_no_code_path_unpickles_evaluates_or_renders_raw_html():
    sources = [ROOT / "app.py", *sorted((ROOT / "genre").rglob("*.py")), *sorted((ROOT / "ui").rglob("*.py")),
               *sorted((ROOT / "pages").rglob("*.py"))]
    assert len(sources) > 40
    unsafe = {str(p.relative_to(ROOT)): calls for p in sources
              if (calls := _unsafe_calls(ast.parse(p.read_text(encoding="utf-8"))))}
    assert unsafe == {}
    # the scan itself finds what it looks for
    probe = ast.parse("pickle.loads(b); yaml.load(t); np.load(p, allow_pickle=True); eval(s); "
                      "st.markdown(t, unsafe_allow_html=True); st.html(t); torch.load(f)")
    assert len(_unsafe_calls(probe)) == 7

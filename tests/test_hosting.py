"""Paths named by an imported config stay inside the data roots (issue 10 §1, §2)."""

import os
from pathlib import Path

import pytest

from genre.config import RunConfig, parse_config_text
from genre.errors import ConfigError
from genre.hosting.confine import confine_config
from genre.paths import SAMPLE_DATA, confine_path, data_roots, uploads_dir

SECRET = "TOPSECRET-line-of-a-server-file"


@pytest.fixture(autouse=True)
def store(tmp_path, monkeypatch):
    """A fresh upload store, default roots, and a secret file outside every root."""
    monkeypatch.setenv("GENRE_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("GENRE_DATA_ROOTS", raising=False)
    (tmp_path / "secret.csv").write_text(f"{SECRET}\n1,2\n")
    uploads_dir().mkdir(parents=True)
    return tmp_path


def test_default_roots_are_the_sample_and_the_upload_store(store):
    assert data_roots() == [SAMPLE_DATA, (store / "cache" / "uploads").resolve()]
    assert (SAMPLE_DATA / "ratings.csv").is_file()


def test_operator_roots_replace_the_sample_but_keep_the_upload_store(store, monkeypatch):
    monkeypatch.setenv("GENRE_DATA_ROOTS", os.pathsep.join([str(store / "a"), str(store / "b")]))
    assert data_roots() == [(store / "a").resolve(), (store / "b").resolve(), uploads_dir().resolve()]
    assert confine_path(store / "b" / "x.csv", what="data.source") == (store / "b" / "x.csv").resolve()
    with pytest.raises(ConfigError):
        confine_path(SAMPLE_DATA / "ratings.csv", what="data.source")


def test_files_inside_the_roots_are_allowed():
    assert confine_path(SAMPLE_DATA / "ratings.csv", what="data.source") == SAMPLE_DATA / "ratings.csv"
    upload = uploads_dir() / "abc" / "r.csv"
    assert confine_path(upload, what="data.source") == upload.resolve()


@pytest.mark.parametrize("path", ["{secret}", "{sample}/../../../../../{secret}", "/etc/passwd",
                                  "{uploads}/../secret.csv", "~/.ssh/id_rsa"])
def test_paths_outside_every_root_are_refused_without_reading_them(store, path):
    path = path.format(secret=store / "secret.csv", sample=SAMPLE_DATA, uploads=uploads_dir())
    with pytest.raises(ConfigError) as error:
        confine_path(path, what="data.source")
    message = str(error.value)
    assert "outside the folders this app may read" in message and "GENRE_DATA_ROOTS" in message
    assert SECRET not in message and "root:" not in message


def test_a_symlink_inside_a_root_that_points_outside_is_refused(store):
    link = uploads_dir() / "innocent.csv"
    link.symlink_to(store / "secret.csv")
    with pytest.raises(ConfigError, match="outside the folders"):
        confine_path(link, what="data.items")


@pytest.mark.parametrize("url", ["http://169.254.169.254/latest/meta-data/", "https://example.com/x.csv",
                                 "file:///etc/passwd", "FILE:/etc/passwd", "ftp://host/x"])
def test_urls_are_refused(url):
    with pytest.raises(ConfigError, match="enrichment sources are files, not URLs"):
        confine_path(url, what="features.enrichment")


@pytest.mark.parametrize("bad", ["", "   ", "a\0b", 42, None, b"/etc/passwd"])
def test_empty_or_nul_paths_are_refused(bad):
    with pytest.raises(ConfigError):
        confine_path(bad, what="data.source")


@pytest.mark.parametrize("yaml_text, where", [
    ("data: {source: [{sample}/ratings.csv, {secret}]}", "data.source[1]"),
    ("data: {source: {sample}, items: {secret}}", "data.items"),
    ("data: {source: {sample}}\nfeatures: {enrichment: {secret}}", "features.enrichment"),
    ("data: {source: {sample}}\nfeatures: {profiles: {secret}}", "features.profiles"),
    ("data: {source: {sample}}\nfeatures: {modalities: [{name: i, fields: [], encoder: image, "
     "params: {images: {secret}}}]}", "params.images"),
    ("data: {source: {sample}}\nfeatures: {modalities: [{name: v, fields: [], encoder: precomputed, "
     "params: {path: {sample}/x.npy, ids: {secret}}}]}", "params.ids"),
    ("data: {source: {sample}}\nfeatures: {modalities: [{name: t, fields: [title], "
     "encoder: sentence-transformers, params: {model: {secret}}}]}", "params.model"),
    ("data: {source: {sample}}\nalgorithms: [{name: content, features: {enrichment: {secret}}}]",
     "algorithms[0].features.enrichment"),
    ("data: {source: {sample}}\nalgorithms: [{name: ease}, {name: c2, algorithm: content, features: {modalities: "
     "[{name: i, fields: [], encoder: image, params: {images: {secret}}}]}}]", "algorithms[1].features.modalities"),
])
def test_confine_config_checks_every_path_a_config_names(store, yaml_text, where):
    config = parse_config_text(yaml_text.replace("{sample}", str(SAMPLE_DATA))
                               .replace("{secret}", str(store / "secret.csv")))
    with pytest.raises(ConfigError, match=where.replace("[", r"\[").replace("]", r"\]")) as error:
        confine_config(config)
    assert SECRET not in str(error.value)


def test_a_config_inside_the_roots_passes_and_hub_model_ids_are_not_paths():
    config = parse_config_text(
        f"data: {{source: {SAMPLE_DATA}, items: {SAMPLE_DATA / 'movies.csv'}}}\n"
        f"features: {{modalities: [{{name: t, fields: [title], encoder: sentence-transformers, "
        f"params: {{model: sentence-transformers/all-MiniLM-L6-v2}}}}]}}")
    assert confine_config(config) is None


def test_a_pasted_path_is_text_and_never_read(store):
    with pytest.raises(ConfigError, match="must be a YAML mapping at the top level, got str") as error:
        parse_config_text(str(store / "secret.csv"))
    assert SECRET not in str(error.value)


def test_the_default_config_names_the_sample_when_run_from_the_project(monkeypatch):
    monkeypatch.chdir(Path(__file__).resolve().parents[1])
    confine_config(RunConfig())


def test_enrichment_and_profile_urls_are_never_fetched_even_from_the_cli(tmp_path):
    import socket

    from genre.config import FeaturesConfig
    from genre.data import load_dataset
    from genre.run.encoding import user_profile_vectors, with_enrichment_file

    (tmp_path / "r.csv").write_text("user,item\n1,10\n1,11\n2,10\n")
    dataset = load_dataset(tmp_path / "r.csv")
    with socket.socket() as listener:  # a server that counts the requests it gets
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        listener.setblocking(False)
        url = f"http://127.0.0.1:{listener.getsockname()[1]}/enrichment.csv"
        with pytest.raises(ConfigError, match="enrichment sources are files, not URLs"):
            with_enrichment_file(dataset, url)
        with pytest.raises(ConfigError, match="features.profiles"):
            user_profile_vectors(dataset, FeaturesConfig(profiles=url), cache=None)
        with pytest.raises(BlockingIOError):
            listener.accept()  # nobody connected


def test_image_paths_inside_data_rows_are_confined_in_the_app_process(monkeypatch, tmp_path):
    """An uploaded item file whose image column names server files: in hosted mode those paths
    count as missing whether or not they exist (no existence oracle); the CLI reads them."""
    import pandas as pd

    from genre import paths
    from genre.data import Dataset
    from genre.encoders.modalities import Modality, modality_inputs

    inside = tmp_path / "root" / "1.png"
    inside.parent.mkdir()
    inside.write_bytes(b"png")
    monkeypatch.setenv("GENRE_DATA_ROOTS", str(tmp_path / "root"))
    items = pd.DataFrame({"item_id": [1, 2, 3], "poster": [str(inside), "/etc/hostname", "/no/such/file.png"]})
    rows = pd.DataFrame({"user": [1, 1, 2], "item": [1, 2, 3], "rating": 1.0, "timestamp": [1, 2, 3]})
    dataset = Dataset.from_frame(rows, items)
    poster = Modality("poster", ["poster"], encoder="image")
    assert [p is not None for p in modality_inputs(dataset, poster)] == [True, True, True]  # CLI: any path
    monkeypatch.setattr(paths, "_PATHS_IN_DATA_CONFINED", True)
    assert modality_inputs(dataset, poster) == [inside.resolve(), None, None]

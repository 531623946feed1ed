"""The upload store: safe names, size cap, quota with LRU pruning, age limit (issue 10 §6)."""

import io
import os
import time

import pytest

from genre.errors import DataError
from genre.hosting.uploads import prune_uploads, safe_file_name, save_uploads
from genre.paths import uploads_dir

MB = 2**20


def upload(name: str, data: bytes) -> io.BytesIO:
    """What Streamlit hands over: bytes with a name."""
    buffer = io.BytesIO(data)
    buffer.name = name
    return buffer


@pytest.fixture(autouse=True)
def store(tmp_path, monkeypatch):
    monkeypatch.setenv("GENRE_CACHE_DIR", str(tmp_path))
    for name in ("GENRE_UPLOAD_QUOTA_MB", "GENRE_UPLOAD_MAX_MB", "GENRE_UPLOAD_MAX_AGE_DAYS"):
        monkeypatch.delenv(name, raising=False)
    return uploads_dir()


def _age(folder, days: float) -> None:
    then = time.time() - days * 86_400
    os.utime(folder, (then, then))


def test_same_content_reuses_its_folder_and_names_are_sanitised(store):
    first = save_uploads([upload("../../My ratings (2024).CSV", b"user,item\n1,2\n"), upload("a.csv", b"x")])
    again = save_uploads([upload("../../My ratings (2024).CSV", b"user,item\n1,2\n"), upload("a.csv", b"x")])
    assert first == again and first[0].name == "My_ratings_2024.csv"
    assert first[0].parent.parent == store and first[0].read_bytes() == b"user,item\n1,2\n"
    assert [p.name for p in save_uploads([upload("x.csv", b"1"), upload("x.csv", b"2")])] == ["x.csv", "x-2.csv"]
    assert safe_file_name("<img src=x onerror=alert(1)>.csv") == "img_src_x_onerror_alert_1.csv"


def test_an_upload_over_the_per_file_cap_is_refused(monkeypatch, store):
    monkeypatch.setenv("GENRE_UPLOAD_MAX_MB", "1")
    with pytest.raises(DataError, match=r"more than the 1 MB allowed per upload \(GENRE_UPLOAD_MAX_MB\)"):
        save_uploads([upload("big.csv", b"x" * (MB + 1))])
    assert not store.exists() or not any(store.iterdir())


def test_over_quota_the_least_recently_used_other_uploads_go(monkeypatch, store):
    monkeypatch.setenv("GENRE_UPLOAD_QUOTA_MB", "2.5")
    old = save_uploads([upload("old.csv", b"o" * MB)])[0]
    recent = save_uploads([upload("recent.csv", b"r" * MB)])[0]
    _age(old.parent, 0.5)
    _age(recent.parent, 0.1)
    new = save_uploads([upload("new.csv", b"n" * MB)])[0]
    assert not old.exists() and recent.exists() and new.exists()


def test_pruning_never_touches_what_the_session_uses(monkeypatch, store):
    monkeypatch.setenv("GENRE_UPLOAD_QUOTA_MB", "2.5")
    mine = save_uploads([upload("mine.csv", b"m" * MB)])[0]
    other = save_uploads([upload("other.csv", b"o" * MB)])[0]
    _age(mine.parent, 0.5)  # least recently used, but in use by this session
    save_uploads([upload("new.csv", b"n" * MB)], in_use=[mine])
    assert mine.exists() and not other.exists()


def test_uploads_older_than_the_age_limit_are_deleted_on_save(monkeypatch, store):
    monkeypatch.setenv("GENRE_UPLOAD_MAX_AGE_DAYS", "7")
    stale = save_uploads([upload("stale.csv", b"s")])[0]
    kept = save_uploads([upload("kept.csv", b"k")])[0]
    week_old = save_uploads([upload("week.csv", b"w")])[0]
    _age(stale.parent, 8)
    _age(week_old.parent, 8)
    save_uploads([upload("new.csv", b"n")], in_use=[week_old.parent])
    assert not stale.exists() and kept.exists() and week_old.exists()


def test_reusing_an_upload_marks_it_recently_used(monkeypatch, store):
    first = save_uploads([upload("a.csv", b"a")])[0]
    _age(first.parent, 3)
    save_uploads([upload("a.csv", b"a")])
    assert time.time() - first.parent.stat().st_mtime < 3600


def test_when_even_an_empty_store_cannot_hold_it_the_error_says_so(monkeypatch, store):
    monkeypatch.setenv("GENRE_UPLOAD_QUOTA_MB", "1.5")
    monkeypatch.setenv("GENRE_UPLOAD_MAX_MB", "1")
    mine = save_uploads([upload("mine.csv", b"m" * MB)])[0]
    with pytest.raises(DataError, match="the upload store is full.*GENRE_UPLOAD_QUOTA_MB"):
        save_uploads([upload("next.csv", b"n" * MB)], in_use=[mine])
    assert mine.exists()


@pytest.mark.parametrize("value", ["lots", "0", "-3"])
def test_bad_settings_are_named(monkeypatch, value):
    monkeypatch.setenv("GENRE_UPLOAD_QUOTA_MB", value)
    with pytest.raises(DataError, match="GENRE_UPLOAD_QUOTA_MB"):
        prune_uploads()

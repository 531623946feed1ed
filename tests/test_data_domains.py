"""Logs from many domains, in their own layouts, load with no mapping given (issue 14, item 8).

Each case writes small files the way the public data set of that domain lays them out, loads
them through ``load_dataset`` and through ``python -m genre info`` (a real subprocess), and
checks which columns were picked and that the one-line explanation says so. One AppTest
uploads the music log through the Data page and trains without timestamps.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from app_helpers import ROOT, app, button, check, plain  # noqa: F401
from genre.data import guess_mapping, guess_tables, load_dataset
from genre.algorithms import ALGORITHM_NAMES, algorithm_class
from genre.data.timestamps import TIME_ALGORITHMS, has_time, needs_time, time_free, time_note

PLAYS = ("userID\tartistID\tweight\n2\t51\t13883\n2\t52\t11690\n2\t53\t11351\n3\t51\t228\n3\t54\t45\n"
         "4\t52\t100\n4\t53\t7\n5\t54\t1\n5\t51\t30\n")
ARTISTS = ("id\tname\turl\tpictureURL\n51\tDuran Duran\thttp://www.last.fm/music/Duran+Duran\thttp://img/51.jpg\n"
           "52\tMorcheeba\thttp://www.last.fm/music/Morcheeba\thttp://img/52.jpg\n"
           "53\tAir\thttp://www.last.fm/music/Air\thttp://img/53.jpg\n"
           "54\tHooverphonic\thttp://www.last.fm/music/Hooverphonic\thttp://img/54.jpg\n"
           "55\tNever played\thttp://www.last.fm/music/None\thttp://img/55.jpg\n")


def _write(folder: Path, files: dict[str, object]) -> list[Path]:
    paths = []
    for name, content in files.items():
        path = folder / name
        if isinstance(content, pd.DataFrame):
            content.to_parquet(path, index=False)
        elif isinstance(content, list):
            path.write_text("".join(json.dumps(record) + "\n" for record in content))
        else:
            path.write_text(content)
        paths.append(path)
    return paths


#: name → (files, expected picks in the explanation, (users, items, interactions), title of the first item)
CASES = {
    "music plays + artists keyed by plain id": (
        {"user_artists.dat": PLAYS, "artists.dat": ARTISTS},
        ["user = userID (user id)", "item = artistID (artist id)",
         "rating = weight (implicit strength: counts, not ratings)", "no timestamp column",
         "item id = id (plain id, holding 100% of user_artists.dat's artistID values)", "title = name"],
        (4, 4, 9), "Duran Duran"),
    "music plays naming artists, artists file keyed by id": (
        {"plays.tsv": "user_id\tartist_name\tplays\nu1\tAir\t3\nu1\tMorcheeba\t5\nu2\tAir\t1\n",
         "artists.tsv": "id\tname\nm-1\tAir\nm-2\tMorcheeba\nm-3\tBjork\n"},
        ["user = user_id (user id)", "item = artist_name (its values are artists.tsv's name)",
         "rating = plays (implicit strength", "item id = name (matched by value, holding 100%"],
        (2, 2, 3), "Air"),
    "books: semicolon CSV with quoted User-ID, ISBN, Book-Rating": (
        {"BX-Book-Ratings.csv": '"User-ID";"ISBN";"Book-Rating"\n"276725";"034545104X";"0"\n'
                                '"276726";"0155061224";"5"\n"276727";"0446520802";"0"\n"276725";"0155061224";"8"\n',
         "BX-Books.csv": '"ISBN";"Book-Title";"Book-Author";"Year-Of-Publication";"Image-URL-M"\n'
                         '"0155061224";"Rites of Passage";"Judith Rae";"2001";"http://images/m.jpg"\n'
                         '"034545104X";"Flesh Tones: A Novel";"M. J. Rose";"2002";"http://images/f.jpg"\n'},
        ["user = User-ID (user id)", "item = ISBN (ISBN is an item code)", "rating = Book-Rating (rating)",
         "item id = ISBN", "title = Book-Title", "image = Image-URL-M"],
        (3, 3, 4), "Rites of Passage"),
    "e-commerce events with visitorid, itemid, event, timestamp (ms)": (
        {"events.csv": "timestamp,visitorid,event,itemid,transactionid\n1433221332117,257597,view,355908,\n"
                       "1433224214164,992329,view,248676,\n1433221999827,111016,addtocart,318965,\n"
                       "1433221955914,257597,transaction,248676,4000\n"},
        ["user = visitorid (visitor id)", "item = itemid (item id)", "no rating column",
         "timestamp = timestamp (time)"],
        (3, 3, 4), "248676"),
    "news clicks with userId, newsId": (
        {"clicks.csv": "userId,newsId\nU13740,N55189\nU13740,N42782\nU91836,N55189\nU73700,N34694\n"},
        ["user = userId (user id)", "item = newsId (news id)", "no rating column", "no timestamp column"],
        (3, 3, 4), "N34694"),
    "restaurants: customer_id, business_id, stars + businesses": (
        {"reviews.csv": "review_id,customer_id,business_id,stars,text\nr1,c1,b1,5,Great\nr2,c2,b1,3,Ok\n"
                        "r3,c2,b2,4,Nice\n",
         "businesses.csv": "business_id,name,categories\nb1,Pho Place,\"Vietnamese, Noodles\"\nb2,Taqueria,Mexican\n"},
        ["user = customer_id (customer id)", "item = business_id (business id)", "rating = stars (rating)",
         "item id = business_id", "title = name", "genres = categories"],
        (2, 2, 3), "Pho Place"),
    "courses: JSON Lines with learner_id, course_id, enrolled_at": (
        {"enrolments.jsonl": [{"learner_id": "L1", "course_id": 101, "enrolled_at": "2024-01-03T10:00:00Z"},
                              {"learner_id": "L1", "course_id": 102, "enrolled_at": "2024-02-01T09:00:00Z"},
                              {"learner_id": "L2", "course_id": 101, "enrolled_at": "2024-03-05T12:30:00Z"}],
         "courses.jsonl": [{"course_id": 101, "course_title": "Statistics", "subject": "Maths"},
                           {"course_id": 102, "course_title": "Poetry", "subject": "Arts"}]},
        ["user = learner_id (learner id)", "item = course_id (course id)", "no rating column",
         "timestamp = enrolled_at (time)", "title = course_title", "genres = subject"],
        (2, 2, 3), "Statistics"),
    "products: Parquet with reviewerID, asin, overall, unixReviewTime": (
        {"reviews.parquet": pd.DataFrame({
            "reviewerID": ["A2SUAM1J3GNN3B", "A14VAT5EAX3D9S", "A2SUAM1J3GNN3B"],
            "asin": ["0000013714", "0000013714", "B00004Y2UT"], "reviewerName": ["J. McDonald", "Jake", "J."],
            "overall": [5.0, 4.0, 2.0], "unixReviewTime": [1393545600, 1363392000, 1377648000],
            "reviewTime": ["02 28, 2014", "03 16, 2013", "08 28, 2013"]})},
        ["user = reviewerID (reviewer id)", "item = asin (ASIN is an item code)", "rating = overall (rating)",
         "timestamp = unixReviewTime (time)"],
        (2, 2, 3), "0000013714"),
}


@pytest.fixture(params=list(CASES))
def case(request, tmp_path):
    files, picks, counts, title = CASES[request.param]
    return _write(tmp_path, files), picks, counts, title


def test_each_domain_loads_with_no_mapping(case):
    paths, picks, counts, title = case
    ds = load_dataset([str(p) for p in paths])
    assert (ds.n_users, ds.n_items, ds.n_interactions) == counts
    explanation = ds.notes[0]
    assert explanation.startswith(f"columns of {paths[0].name}: ")
    for pick in picks:
        assert pick in explanation, (pick, explanation)
    assert ds.items["title"].iloc[0] == title
    assert (time_note() in ds.notes) == (not has_time(ds.interactions))


def test_each_domain_through_the_cli(case):
    paths, picks, counts, _ = case
    run = subprocess.run([sys.executable, "-m", "genre", "info", *map(str, paths)], capture_output=True,
                         text=True, cwd=ROOT, timeout=120)
    assert run.returncode == 0, run.stderr
    assert f"n_users: {counts[0]}" in run.stdout and f"n_interactions: {counts[2]}" in run.stdout
    for pick in picks:
        assert pick in run.stdout, (pick, run.stdout)


@pytest.mark.parametrize("columns, expected", [
    (["UserId", "TrackId", "PlayCount"], ("UserId", "TrackId", "PlayCount")),
    (["user_id", "song_id", "play_count"], ("user_id", "song_id", "play_count")),
    (["customer", "product", "quantity"], ("customer", "product", "quantity")),
    (["member_id", "recipe_id", "rating", "date"], ("member_id", "recipe_id", "rating")),
    (["player_id", "game_id", "hours"], ("player_id", "game_id", "hours")),
    (["uid", "iid", "clicks"], ("uid", "iid", "clicks")),
    (["session_id", "video_id", "ts"], ("session_id", "video_id", None)),
    (["userId", "sessionId", "hotelId"], ("userId", "hotelId", None)),
    (["User-ID", "Book-ID", "Book-Rating"], ("User-ID", "Book-ID", "Book-Rating")),
    (["reader_id", "article_id", "views"], ("reader_id", "article_id", "views")),
    (["user", "app", "count"], ("user", "app", "count")),
    (["userID", "movieID", "rating", "date_day"], ("userID", "movieID", "rating")),
])
def test_id_spellings_and_strengths(columns, expected):
    m = guess_mapping(columns)
    assert (m.user, m.item, m.rating) == expected


def test_an_item_table_that_does_not_match_says_so():
    plays = pd.DataFrame({"user": [1, 2], "track_id": [7, 8]})
    tracks = pd.DataFrame({"id": [100, 101], "name": ["a", "b"]})
    guess = guess_tables(plays, tracks, names=("plays.csv", "tracks.csv"))
    assert (guess.mapping.item, guess.mapping.item_id) == ("track_id", "id")
    assert "item id = id (plain id, but only 0% of plays.csv's track_id values)" in guess.explanation


def test_what_needs_time():
    assert [needs_time(n) for n in ("temporal", "leave_last_out", "sequential")] == [True, True, True]
    assert [needs_time(n) for n in ("random", "cold_items", "ease", "content", "popularity")] == [False] * 5
    timeless = pd.DataFrame({"user": [0, 0], "item": [0, 1], "rating": 1.0, "timestamp": 0})
    timed = timeless.assign(timestamp=[1, 2])
    assert (has_time(timeless), has_time(timed)) == (False, True)
    assert (time_free("temporal", timeless), time_free("temporal", timed)) == ("random", "temporal")
    assert time_free("cold_items", timeless) == "cold_items"
    assert "temporal, leave_last_out, sequential and transformer_seq need time" in time_note()
    assert TIME_ALGORITHMS == tuple(n for n in ALGORITHM_NAMES
                                   if "interaction_times" in algorithm_class(n).requires)


def test_music_log_through_the_data_page_then_train_without_time(app):
    app.switch_page("pages/1_Data.py").run()
    app.radio(key="data_source").set_value("Upload files").run()
    app.file_uploader(key="upload_interactions").upload("user_artists.dat", PLAYS.encode(), "text/plain").run()
    app.file_uploader(key="upload_items").upload("artists.dat", ARTISTS.encode(), "text/plain").run()
    check(app)
    assert [app.selectbox(key=f"map_{f}").value for f in ("user", "item", "rating", "timestamp", "item_id",
                                                          "title")] == ["userID", "artistID", "weight", "(none)",
                                                                        "id", "name"]
    captions = [plain(c.value) for c in app.caption]
    assert any("Guess: columns of user_artists.dat: user = userID" in c for c in captions)
    button(app, "Load data").click().run()
    check(app)
    dataset = app.session_state["dataset"]
    assert (dataset.n_users, dataset.n_items, dataset.n_interactions) == (4, 4, 9)
    assert dataset.items["title"].tolist() == ["Duran Duran", "Morcheeba", "Air", "Hooverphonic"]
    assert dataset.notes == load_dataset([_upload("user_artists.dat", PLAYS), _upload("artists.dat", ARTISTS)]).notes
    captions = [plain(c.value) for c in app.caption]
    assert any("implicit strength" in c for c in captions) and any(time_note() in c for c in captions)
    app.switch_page("pages/3_Train.py").run()
    check(app)
    assert app.selectbox(key="split_method").value == "random"
    assert app.toggle(key="on_sequential").value is False
    assert any(time_note() in plain(c.value) for c in app.caption)


def _upload(name: str, text: str):
    import io

    buffer = io.BytesIO(text.encode())
    buffer.name = name
    return buffer

"""Image encoder on images made here with PIL, plus missing, corrupt and hostile inputs."""

from __future__ import annotations

import io
import zipfile

import numpy as np
import pytest
from PIL import Image, ImageDraw

from genre.encoders import EmbeddingCache, encode_with_report, images_from_folder, images_from_zip, make_encoder
from genre.errors import DataError


def _picture(kind: str, size: tuple[int, int] = (160, 120), fmt: str = "PNG") -> bytes:
    image = Image.new("RGB", size, "white")
    draw = ImageDraw.Draw(image)
    if kind == "circle":
        draw.ellipse((30, 20, 130, 110), fill=(220, 30, 30))
    elif kind == "stripes":
        for x in range(0, size[0], 16):
            draw.rectangle((x, 0, x + 7, size[1]), fill=(20, 20, 200))
    elif kind == "checker":
        for x in range(0, size[0], 20):
            for y in range((x // 20) % 2 * 20, size[1], 40):
                draw.rectangle((x, y, x + 19, y + 19), fill="black")
    buffer = io.BytesIO()
    image.save(buffer, format=fmt)
    return buffer.getvalue()


@pytest.fixture(scope="module")
def encoder():
    return make_encoder("image")


def test_images_become_unit_rows_and_bad_ones_zero_rows(encoder, tmp_path):
    for kind in ("circle", "stripes", "checker"):
        (tmp_path / f"{kind}.png").write_bytes(_picture(kind))
    (tmp_path / "circle.jpg").write_bytes(_picture("circle", fmt="JPEG"))
    (tmp_path / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 this is not really a jpeg")
    inputs = [tmp_path / "circle.png", str(tmp_path / "stripes.png"), _picture("checker"),
              tmp_path / "circle.jpg", tmp_path / "nowhere.png", tmp_path / "broken.jpg", None]
    vectors = encoder.encode(inputs)
    assert vectors.shape == (7, 1280) and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors[:4], axis=1), 1.0, atol=1e-5)
    assert not vectors[4:].any()
    report = encoder.last_report
    assert report["missing"] == 2 and report["unreadable"] == 1
    assert report["flags"].tolist() == [False] * 4 + [True] * 3
    # the same picture as PNG and JPEG is closer than two different pictures
    assert vectors[0] @ vectors[3] > 0.95 and vectors[0] @ vectors[3] > vectors[0] @ vectors[2]
    np.testing.assert_allclose(encoder.encode([tmp_path / "circle.png"])[0], vectors[0], atol=1e-5)


def test_missing_images_are_retried_not_cached(encoder, tmp_path):
    cache = EmbeddingCache(tmp_path / "cache")
    inputs = [_picture("circle"), None]
    _, report = encode_with_report(encoder, inputs, cache)
    assert report["cache_misses"] == 2 and report["missing"] == 1
    _, report = encode_with_report(encoder, inputs, cache)
    assert report["cache_hits"] == 1 and report["missing"] == 1 and report["flags"].tolist() == [False, True]


def _zip(entries: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def test_images_from_zip_by_item_id(tmp_path):
    data = _zip({"1.png": _picture("circle"), "posters/2.JPG": _picture("stripes", fmt="JPEG"),
                 "notes.txt": b"hello", "3.txt": b"not an image", "__MACOSX/._1.png": b"junk"})
    found = images_from_zip(data, [1, 2, 3, 4])
    assert sorted(found) == [1, 2] and found[1] == _picture("circle")
    (tmp_path / "a.zip").write_bytes(data)
    assert sorted(images_from_zip(tmp_path / "a.zip", ["1", "2"])) == ["1", "2"]


def test_images_from_zip_refuses_traversal_bombs_and_junk():
    with pytest.raises(DataError, match="unsafe entry name"):
        images_from_zip(_zip({"1.png": _picture("circle"), "../../etc/2.png": b"x"}), [1, 2])
    with pytest.raises(DataError, match="unsafe entry name"):
        images_from_zip(_zip({"/abs/3.png": b"x"}), [3])
    bomb = _zip({"1.png": b"\0" * 5_000_000})
    assert len(bomb) < 100_000
    with pytest.raises(DataError, match="MiB allowed"):
        images_from_zip(bomb, [1], max_total_bytes=1_000_000)
    with pytest.raises(DataError, match="not a readable zip"):
        images_from_zip(b"plain bytes", [1])


def test_images_from_folder(tmp_path):
    (tmp_path / "7.png").write_bytes(_picture("circle"))
    (tmp_path / "8.txt").write_text("no")
    assert images_from_folder(tmp_path, [7, 8]) == {7: tmp_path / "7.png"}
    with pytest.raises(DataError, match="does not exist"):
        images_from_folder(tmp_path / "nope", [7])


# ---------------------------------------------------------------------------- issue 10 §3: caps before decoding
def test_one_huge_entry_is_refused_from_the_zip_directory():
    archive = _zip({"1.png": b"\0" * (40 << 20)})  # 40 MiB image in a ~40 KB zip
    assert len(archive) < 100_000
    with pytest.raises(DataError, match=r"'1.png' in the archive would unpack to 40.0 MiB.*per image"):
        images_from_zip(archive, [1])


def test_a_lying_header_stops_the_stream():
    import struct

    archive = bytearray(_zip({"1.png": b"\0" * (8 << 20)}))
    for signature, offset in ((b"PK\x01\x02", 24), (b"PK\x03\x04", 22)):  # declare 100 bytes
        at = archive.find(signature)
        archive[at + offset:at + offset + 4] = struct.pack("<I", 100)
    with pytest.raises(DataError, match="image archive"):
        images_from_zip(bytes(archive), [1])


def test_images_over_the_pixel_cap_are_skipped_and_counted(encoder):
    from genre.encoders import image

    big = Image.new("1", (7000, 7000))  # 49 MP: under PIL's own bomb warning, over GENRE's cap
    buffer = io.BytesIO()
    big.save(buffer, format="PNG")
    assert 7000 * 7000 > image.MAX_IMAGE_PIXELS and len(buffer.getvalue()) < 200_000
    vectors = encoder.encode([buffer.getvalue()])
    assert encoder.last_report["unreadable"] == 1 and not vectors.any()


def test_image_files_over_the_byte_cap_are_skipped_and_counted(encoder, tmp_path, monkeypatch):
    from genre.encoders import image

    path = tmp_path / "poster.png"
    path.write_bytes(_picture("circle"))
    monkeypatch.setattr(image, "MAX_IMAGE_BYTES", path.stat().st_size - 1)
    vectors = encoder.encode([path, _picture("circle")])
    assert encoder.last_report["unreadable"] == 2 and not vectors.any()

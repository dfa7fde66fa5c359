"""Photos of places and resources: checked, re-encoded and resized, then kept in a store.

An upload is never kept as sent: it is decoded (JPEG, PNG or WebP only, within a pixel limit
that stops decompression bombs), turned upright by its EXIF orientation, stripped of its
metadata (a phone's GPS position included) and written again as two JPEG files, one at most
1200 px wide or high and a 400 px thumbnail. The store is a seam: files on disk here, an
S3-compatible bucket in :mod:`resources.photo_s3`. Stores block (disk, network): callers run
them in a worker thread.
"""

from __future__ import annotations

import io
import os
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from PIL import Image, ImageOps, UnidentifiedImageError

from kernel.errors import InvalidInputError

FORMATS = frozenset({"JPEG", "PNG", "WEBP"})
LARGE = 1200
THUMB = 400
VARIANTS = (LARGE, THUMB)
MAX_PIXELS = 40_000_000
QUALITY = 85


@dataclass(frozen=True, slots=True)
class Prepared:
    """The two JPEG files of a photo and the size of the large one."""

    large: bytes
    thumb: bytes
    width: int
    height: int


def _refuse(message: str, code: str) -> InvalidInputError:
    return InvalidInputError(message, field="photo", code=code)


def _jpeg(image: Image.Image, side: int) -> bytes:
    copy = image.copy()
    copy.thumbnail((side, side), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    copy.save(out, "JPEG", quality=QUALITY, optimize=True, progressive=True)
    return out.getvalue()


def prepare(data: bytes, max_bytes: int) -> Prepared:
    """The resized copies of an uploaded image (``photo_too_large``, ``photo_not_an_image``)."""
    if len(data) > max_bytes:
        raise _refuse(
            f"A photo may weigh {max_bytes // (1024 * 1024)} MB at most.", "photo_too_large"
        )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as opened:
                if opened.format not in FORMATS:
                    raise _refuse("Send a JPEG, PNG or WebP image.", "photo_not_an_image")
                if opened.width * opened.height > MAX_PIXELS:
                    raise _refuse("This image has too many pixels.", "photo_too_large")
                image = ImageOps.exif_transpose(opened)
                image.load()
    except (
        UnidentifiedImageError,
        Image.DecompressionBombError,
        Image.DecompressionBombWarning,
        OSError,
        ValueError,
    ) as exc:
        if isinstance(exc, InvalidInputError):
            raise
        raise _refuse("Send a JPEG, PNG or WebP image.", "photo_not_an_image") from exc
    if image.mode not in ("RGB", "L"):
        # Transparency on white, as a page shows it.
        background = Image.new("RGB", image.size, "white")
        rgba = image.convert("RGBA")
        background.paste(rgba, mask=rgba.getchannel("A"))
        image = background
    large = _jpeg(image, LARGE)
    with Image.open(io.BytesIO(large)) as written:
        width, height = written.size
    return Prepared(large=large, thumb=_jpeg(image, THUMB), width=width, height=height)


class PhotoStore(Protocol):
    """Where the files of photos live."""

    def save(self, key: str, prepared: Prepared) -> None:
        """Keep both files of a photo under ``key``."""
        ...

    def url(self, key: str, side: int) -> str:
        """The address a page shows the file of ``key`` at this size with."""
        ...

    def delete(self, key: str) -> None:
        """Remove both files of a photo (none there: nothing to do)."""
        ...


def file_name(key: str, side: int) -> str:
    """The file of one size of a photo."""
    return f"{key}-{side}.jpg"


class DiskPhotoStore:
    """Photos as files in a directory, served under ``/static/photos/``."""

    def __init__(self, root: Path, base_url: str = "/static/photos") -> None:
        self.root = root
        self.base_url = base_url

    def save(self, key: str, prepared: Prepared) -> None:
        """Write both files, each whole or not at all (written aside, then renamed)."""
        self.root.mkdir(parents=True, exist_ok=True)
        for side, data in ((LARGE, prepared.large), (THUMB, prepared.thumb)):
            handle, temporary = tempfile.mkstemp(dir=self.root, suffix=".part")
            with os.fdopen(handle, "wb") as out:
                out.write(data)
            Path(temporary).replace(self.root / file_name(key, side))

    def url(self, key: str, side: int) -> str:
        """``/static/photos/<key>-<side>.jpg``."""
        return f"{self.base_url}/{file_name(key, side)}"

    def delete(self, key: str) -> None:
        """Remove both files, if still there."""
        for side in VARIANTS:
            (self.root / file_name(key, side)).unlink(missing_ok=True)

"""Where this instance keeps its photos: a directory, or an S3-compatible bucket if set."""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import boto3
from botocore.config import Config

from kernel.settings import Settings
from resources.photo_s3 import S3PhotoStore
from resources.photos import DiskPhotoStore, PhotoStore

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client


def photo_store(settings: Settings) -> PhotoStore:
    """The store ``settings`` choose: ``MUTUALAB_PHOTOS_S3_BUCKET``, else the directory."""
    public = settings.photos_public_url
    if settings.photos_s3_bucket is None or public is None:
        return DiskPhotoStore(settings.photos_dir)
    client = _client(settings.photos_s3_endpoint_url, settings.photos_s3_region)
    return S3PhotoStore(client, settings.photos_s3_bucket, public, settings.photos_s3_prefix)


@cache
def _client(endpoint_url: str | None, region: str | None) -> S3Client:
    # One client per endpoint for the process: thread-safe, and its connections are reused.
    # Other providers than AWS want path-style addresses (no bucket name in the host).
    config = Config(
        s3={"addressing_style": "path"} if endpoint_url else {},
        retries={"max_attempts": 3, "mode": "standard"},
        connect_timeout=5,
        read_timeout=30,
    )
    return boto3.client("s3", endpoint_url=endpoint_url, region_name=region, config=config)


def photo_origin(settings: Settings) -> str | None:
    """The origin pages must allow images from for the bucket's photos (None: our own)."""
    public = settings.photos_public_url
    if public is None:
        return None
    parts = urlsplit(public)
    return f"{parts.scheme}://{parts.netloc}"

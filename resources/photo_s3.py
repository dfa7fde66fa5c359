"""Photos in an S3-compatible bucket (AWS, Scaleway, OVHcloud, MinIO, Garage...), via boto3.

boto3 blocks: like every :class:`resources.photos.PhotoStore`, this one is called from a
worker thread, never on the event loop. A client is thread-safe and shared. Browsers fetch the
files from the bucket's public address (or a CDN before it), not through the application.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from resources.photos import LARGE, THUMB, VARIANTS, Prepared, file_name

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

# Every upload has a new key (resources.photo_service): a file never changes, caches keep it.
CACHE_CONTROL = "public, max-age=31536000, immutable"


class S3PhotoStore:
    """Both files of each photo as objects ``<prefix><key>-<side>.jpg`` of one bucket."""

    def __init__(self, client: S3Client, bucket: str, public_url: str, prefix: str = "") -> None:
        self.client = client
        self.bucket = bucket
        self.public_url = public_url.rstrip("/")
        self.prefix = prefix

    def object_name(self, key: str, side: int) -> str:
        """The name of one size of a photo in the bucket."""
        return f"{self.prefix}{file_name(key, side)}"

    def save(self, key: str, prepared: Prepared) -> None:
        """Upload both files (each object appears whole or not at all)."""
        for side, data in ((LARGE, prepared.large), (THUMB, prepared.thumb)):
            self.client.put_object(
                Bucket=self.bucket,
                Key=self.object_name(key, side),
                Body=data,
                ContentType="image/jpeg",
                CacheControl=CACHE_CONTROL,
            )

    def url(self, key: str, side: int) -> str:
        """The public address of one size of a photo."""
        return f"{self.public_url}/{self.object_name(key, side)}"

    def delete(self, key: str) -> None:
        """Remove both objects (S3 answers success for objects already gone)."""
        answer = self.client.delete_objects(
            Bucket=self.bucket,
            Delete={
                "Objects": [{"Key": self.object_name(key, side)} for side in VARIANTS],
                "Quiet": True,
            },
        )
        failed = answer.get("Errors", [])
        if failed:  # the job that called this is tried again
            raise OSError(f"S3 kept {len(failed)} object(s) of photo {key}: {failed[0]}")

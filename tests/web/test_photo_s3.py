"""Photos in an S3-compatible bucket: a real local S3 server (moto's, over HTTP on 127.0.0.1).

A manager uploads through the photo page; both resized files are objects of the bucket, the
pages show them at the bucket's address (allowed by their Content-Security-Policy), and a
replaced or removed photo's objects are deleted by the job its change queued, once committed.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from typing import TYPE_CHECKING

import boto3
import httpx
import pytest
from moto.server import ThreadedMotoServer
from PIL import Image

from kernel.db import Database
from kernel.settings import Settings
from mutualab.background import job_registry
from mutualab.composition import build_runtime
from mutualab.photo_store import photo_store
from resources.photo_s3 import S3PhotoStore
from resources.photos import prepare
from tests.support.jobs import empty_queue, eventually, workers
from tests.support.net import free_port
from tests.web.helpers import csrf, elements, log_in
from tests.web.seed import Town
from tests.web.test_photo_pages import _image, _send

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

BUCKET = "mutualab-photos"
CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "eu-west-3",
}
PUBLIC_PHOTOS = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": "*",
            "Action": "s3:GetObject",
            "Resource": f"arn:aws:s3:::{BUCKET}/photos/*",
        }
    ],
}


@pytest.fixture(scope="module")
def s3_url() -> Iterator[str]:
    """A local S3-compatible server for this module, and the credentials boto3 reads."""
    with pytest.MonkeyPatch.context() as env:
        for name, value in CREDENTIALS.items():
            env.setenv(name, value)
        port = free_port()
        server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
        server.start()
        try:
            yield f"http://127.0.0.1:{port}"
        finally:
            server.stop()


@pytest.fixture
def bucket(s3_url: str) -> Iterator[S3Client]:
    """An empty bucket whose photos anyone may read (as docs/deploy.md has it), removed with
    what is left in it."""
    client = boto3.client("s3", endpoint_url=s3_url, region_name="eu-west-3")
    client.create_bucket(
        Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "eu-west-3"}
    )
    client.put_bucket_policy(Bucket=BUCKET, Policy=json.dumps(PUBLIC_PHOTOS))
    yield client
    for item in client.list_objects_v2(Bucket=BUCKET).get("Contents", []):
        client.delete_object(Bucket=BUCKET, Key=item["Key"])
    client.delete_bucket(Bucket=BUCKET)


@pytest.fixture
def settings(settings: Settings, s3_url: str, bucket: S3Client) -> Settings:
    """The suite's settings, photos in the bucket."""
    return settings.model_copy(
        update={
            "photos_s3_bucket": BUCKET,
            "photos_s3_endpoint_url": s3_url,
            "photos_s3_region": "eu-west-3",
        }
    )


def _objects(client: S3Client) -> list[str]:
    listed = client.list_objects_v2(Bucket=BUCKET).get("Contents", [])
    return sorted(item["Key"] for item in listed)


def _url(database: Database) -> str:
    return database.engine.url.render_as_string(hide_password=False)


async def _run_jobs(settings: Settings, database: Database, client: S3Client, left: int) -> None:
    """The workers, until the bucket holds ``left`` objects."""
    runtime = build_runtime(settings, database)
    try:
        async with workers(_url(database), job_registry(runtime)):

            async def deleted() -> bool:
                return len(_objects(client)) == left

            await eventually(deleted, f"{left} object(s) left in the bucket")
    finally:
        await runtime.close()


def test_the_settings_choose_the_store_and_its_public_address(s3_url: str) -> None:
    plain = Settings(_env_file=None)  # type: ignore[call-arg]
    assert plain.photos_public_url is None
    assert type(photo_store(plain)).__name__ == "DiskPhotoStore"
    own = plain.model_copy(update={"photos_s3_bucket": BUCKET, "photos_s3_endpoint_url": s3_url})
    assert own.photos_public_url == f"{s3_url}/{BUCKET}"
    store = photo_store(own)
    assert isinstance(store, S3PhotoStore)
    assert store.url("abc", 400) == f"{s3_url}/{BUCKET}/photos/abc-400.jpg"
    aws = plain.model_copy(update={"photos_s3_bucket": BUCKET, "photos_s3_region": "eu-west-3"})
    assert aws.photos_public_url == f"https://{BUCKET}.s3.eu-west-3.amazonaws.com"
    cdn = aws.model_copy(update={"photos_s3_public_url": "https://img.example.fr/lab/"})
    assert cdn.photos_public_url == "https://img.example.fr/lab"


def test_the_store_writes_and_deletes_both_files(bucket: S3Client, s3_url: str) -> None:
    store = S3PhotoStore(bucket, BUCKET, f"{s3_url}/{BUCKET}", "lab/")
    out = io.BytesIO()
    Image.new("RGB", (1600, 1000), (10, 200, 90)).save(out, "PNG")
    store.save("k1", prepare(out.getvalue(), 8 * 1024 * 1024))
    assert _objects(bucket) == ["lab/k1-1200.jpg", "lab/k1-400.jpg"]
    head = bucket.head_object(Bucket=BUCKET, Key="lab/k1-1200.jpg")
    assert head["ContentType"] == "image/jpeg" and "immutable" in head["CacheControl"]
    store.delete("k1")
    store.delete("k1")  # gone already: nothing to do, no error
    assert _objects(bucket) == []


async def test_a_managers_photos_live_in_the_bucket_and_leave_it_when_replaced_or_removed(
    web: httpx.AsyncClient,
    town: Town,
    bucket: S3Client,
    settings: Settings,
    database: Database,
    s3_url: str,
) -> None:
    await empty_queue(database)
    await log_in(web, town.manager_email)
    sent = await _send(web, town, _image(3000, 2000), "L'atelier vu de l'entrée")
    assert sent.status_code == 303
    [large, thumb] = _objects(bucket)
    assert (
        large.startswith("photos/") and large.endswith("-1200.jpg") and thumb.endswith("-400.jpg")
    )

    place = await web.get(f"/places/{town.place_id}")
    [photo] = [i for i in elements(place.text, "img") if i.get("class") == "photo"]
    assert photo["src"] == f"{s3_url}/{BUCKET}/{large}"
    for shown in (place, await web.get("/", params={"town": "Lannion"})):
        allowed = shown.headers["content-security-policy"].split("img-src", 1)[1].split(";")[0]
        assert s3_url in allowed.split()
    # Browsers fetch it from the bucket, not from us.
    async with httpx.AsyncClient() as browser:
        served = await browser.get(photo["src"])
    assert served.status_code == 200
    with Image.open(io.BytesIO(served.content)) as image:
        assert image.format == "JPEG" and image.size == (1200, 800)

    # Replaced: the new files at once, the old ones deleted by the job after the commit.
    again = await _send(web, town, _image(600, 600), "L'atelier un soir")
    assert again.status_code == 303
    assert len(_objects(bucket)) == 4
    await _run_jobs(settings, database, bucket, left=2)
    assert large not in _objects(bucket)
    newer = await web.get(f"/places/{town.place_id}")
    [photo2] = [i for i in elements(newer.text, "img") if i.get("class") == "photo"]
    assert photo2["src"].removeprefix(f"{s3_url}/{BUCKET}/") in _objects(bucket)

    # Removed from the manager's page: gone from the place page, then from the bucket.
    form = await web.get(f"/manage/places/{town.place_id}/photos")
    removed = await web.post(
        f"/manage/places/{town.place_id}/photos/remove", data={"_csrf_token": csrf(form.text)}
    )
    assert removed.status_code == 303
    assert removed.headers["location"].endswith("/photos?notice=photo_removed")
    gone = await web.get(f"/places/{town.place_id}")
    assert not [i for i in elements(gone.text, "img") if i.get("class") == "photo"]
    await _run_jobs(settings, database, bucket, left=0)
    await empty_queue(database)


async def test_a_resources_photo_is_removed_alone(
    web: httpx.AsyncClient, town: Town, bucket: S3Client, settings: Settings, database: Database
) -> None:
    await empty_queue(database)
    await log_in(web, town.manager_email)
    assert (await _send(web, town, _image(800, 600), "L'atelier")).status_code == 303
    laser = await _send(web, town, _image(800, 600), "La découpeuse laser", town.laser_id)
    assert laser.status_code == 303
    assert len(_objects(bucket)) == 4
    form = await web.get(f"/manage/places/{town.place_id}/photos")
    removed = await web.post(
        f"/manage/places/{town.place_id}/photos/remove",
        data={"_csrf_token": csrf(form.text), "resource_id": str(town.laser_id)},
    )
    assert removed.status_code == 303
    await _run_jobs(settings, database, bucket, left=2)
    resource = await web.get(f"/resources/{town.laser_id}")
    assert "La découpeuse laser" not in resource.text
    place = await web.get(f"/places/{town.place_id}")
    assert [i["alt"] for i in elements(place.text, "img") if i.get("class") == "photo"] == [
        "L'atelier"
    ]
    await empty_queue(database)

"""Photos: a manager uploads one for the place and one for a piece of equipment (multipart,
with the CSRF token); they are resized and re-encoded, and shown with their description."""

from __future__ import annotations

import io

import httpx
from PIL import Image

from kernel.db import Database
from kernel.settings import Settings
from mutualab.background import job_registry
from mutualab.composition import build_runtime
from tests.support.jobs import empty_queue, eventually, workers
from tests.web.helpers import csrf, elements, log_in
from tests.web.seed import Town
from tests.web.test_citizen_pages import text


def _image(width: int, height: int, fmt: str = "PNG") -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (200, 80, 40)).save(out, fmt)
    return out.getvalue()


async def _send(
    web: httpx.AsyncClient,
    town: Town,
    content: bytes,
    alt: str,
    resource_id: int | None = None,
    name: str = "photo.png",
) -> httpx.Response:
    form = await web.get(f"/manage/places/{town.place_id}/photos")
    assert form.status_code == 200, form.text[:300]
    fields = {"_csrf_token": csrf(form.text), "alt": alt}
    if resource_id is not None:
        fields["resource_id"] = str(resource_id)
    return await web.post(
        f"/manage/places/{town.place_id}/photos",
        data=fields,
        files={"photo": (name, content, "image/png")},
    )


async def test_a_manager_adds_photos_shown_resized_with_their_description(
    web: httpx.AsyncClient, town: Town
) -> None:
    await log_in(web, town.manager_email)
    sent = await _send(web, town, _image(3000, 2000), "L'atelier vu de l'entrée")
    assert sent.status_code == 303, text(sent.text)[:500]
    assert sent.headers["location"].endswith("/photos?notice=photo_saved")
    laser = await _send(
        web, town, _image(800, 1200, "WEBP"), "La découpeuse laser, capot ouvert", town.laser_id
    )
    assert laser.status_code == 303

    place = await web.get(f"/places/{town.place_id}")
    [photo] = [i for i in elements(place.text, "img") if i.get("class") == "photo"]
    assert photo["alt"] == "L'atelier vu de l'entrée"
    assert (photo["width"], photo["height"]) == ("1200", "800")
    served = await web.get(photo["src"])
    assert served.status_code == 200 and served.headers["content-type"] == "image/jpeg"
    with Image.open(io.BytesIO(served.content)) as image:
        assert image.format == "JPEG" and image.size == (1200, 800)
    [thumb] = [i for i in elements(place.text, "img") if i.get("class") == "photo-thumb"]
    assert thumb["alt"] == "La découpeuse laser, capot ouvert"
    with Image.open(io.BytesIO((await web.get(thumb["src"])).content)) as image:
        assert image.size == (267, 400)

    resource = await web.get(f"/resources/{town.laser_id}")
    assert 'alt="La découpeuse laser, capot ouvert"' in resource.text
    # A new photo replaces the old one, under a new address.
    again = await _send(web, town, _image(600, 600), "L'atelier un soir d'atelier")
    assert again.status_code == 303
    newer = await web.get(f"/places/{town.place_id}")
    [photo2] = [i for i in elements(newer.text, "img") if i.get("class") == "photo"]
    assert photo2["src"] != photo["src"] and photo2["alt"] == "L'atelier un soir d'atelier"


async def test_what_is_not_a_photo_or_not_described_is_refused_beside_its_field(
    web: httpx.AsyncClient, town: Town
) -> None:
    await log_in(web, town.manager_email)
    not_image = await _send(web, town, b"%PDF-1.4 not an image", "Un document")
    assert not_image.status_code == 422
    assert "Envoyez une photo en JPEG, PNG ou WebP." in text(not_image.text)
    gif = io.BytesIO()
    Image.new("RGB", (10, 10)).save(gif, "GIF")
    assert (await _send(web, town, gif.getvalue(), "Un GIF")).status_code == 422
    no_alt = await _send(web, town, _image(100, 100), "   ", town.printer_id)
    assert no_alt.status_code == 422
    assert f'id="alt-{town.printer_id}"' in no_alt.text
    assert "Décrivez la photo pour les personnes qui ne la voient pas" in text(no_alt.text)
    heavy = await _send(web, town, b"\x00" * (9 * 1024 * 1024), "Trop lourd")
    assert heavy.status_code == 422
    assert "Cette photo est trop lourde, ou a trop de pixels." in text(heavy.text)
    assert "JPEG, PNG ou WebP, 8 Mo au plus." in text(heavy.text)
    empty = await _send(web, town, b"", "Rien")
    assert "Choisissez une photo à envoyer." in text(empty.text)


async def test_only_the_places_managers_send_photos(web: httpx.AsyncClient, town: Town) -> None:
    await log_in(web, town.other_manager_email)
    page = await web.get(f"/manage/places/{town.place_id}/photos")
    assert page.status_code == 403
    own = await web.get(f"/manage/places/{town.other_place_id}/photos")
    token = csrf(own.text)
    refused = await web.post(
        f"/manage/places/{town.place_id}/photos",
        data={"_csrf_token": token, "alt": "Intrus"},
        files={"photo": ("p.png", _image(50, 50), "image/png")},
    )
    assert refused.status_code == 403
    # Another place's resource is not this place's.
    elsewhere = await web.post(
        f"/manage/places/{town.other_place_id}/photos",
        data={"_csrf_token": token, "alt": "Intrus", "resource_id": str(town.laser_id)},
        files={"photo": ("p.png", _image(50, 50), "image/png")},
    )
    assert elsewhere.status_code == 404


async def test_a_replaced_photos_files_leave_the_disk_after_the_commit(
    web: httpx.AsyncClient, town: Town, settings: Settings, database: Database
) -> None:
    await empty_queue(database)
    await log_in(web, town.manager_email)
    assert (await _send(web, town, _image(800, 600), "L'atelier")).status_code == 303
    shown = await web.get(f"/places/{town.place_id}")
    [old] = [i["src"] for i in elements(shown.text, "img") if i.get("class") == "photo"]
    key = old.rsplit("/", 1)[1].removesuffix("-1200.jpg")
    first = [f"{key}-1200.jpg", f"{key}-400.jpg"]
    assert all((settings.photos_dir / name).exists() for name in first)
    assert (await _send(web, town, _image(700, 500), "L'atelier, le soir")).status_code == 303
    # Kept until the job queued with the change runs (the worker, after the commit).
    assert all((settings.photos_dir / name).exists() for name in first)
    runtime = build_runtime(settings, database)
    url = database.engine.url.render_as_string(hide_password=False)
    try:
        async with workers(url, job_registry(runtime)):

            async def gone() -> bool:
                return not any((settings.photos_dir / name).exists() for name in first)

            await eventually(gone, "the replaced photo's files are deleted")
    finally:
        await runtime.close()
        await empty_queue(database)
    page = await web.get(f"/places/{town.place_id}")
    [photo] = [i for i in elements(page.text, "img") if i.get("class") == "photo"]
    assert (await web.get(photo["src"])).status_code == 200

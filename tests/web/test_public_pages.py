"""Public pages: search, place, resource week, errors, languages."""

from __future__ import annotations

import httpx

from tests.web.helpers import by_id, elements, log_in, submit, text
from tests.web.seed import Town


async def test_home_lists_places_in_french_with_one_h1_and_security_headers(
    web: httpx.AsyncClient, town: Town
) -> None:
    response = await web.get("/")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert response.headers["content-language"] == "fr"
    assert "script-src 'none'" in response.headers["content-security-policy"]
    assert response.text.startswith('<!doctype html>\n<html lang="fr">')
    page = text(response.text)
    assert "Réservez un équipement partagé près de chez vous" in page
    assert "2 lieux" in page
    assert "Fablab du Trégor" in page and "Médiathèque des Capucins" in page
    assert len(elements(response.text, "h1")) == 1
    assert len(elements(response.text, "main")) == 1
    assert elements(response.text, "a")[0]["href"] == "#main"  # the skip link comes first


async def test_home_searches_by_town_and_by_kind(web: httpx.AsyncClient, town: Town) -> None:
    by_town = text((await web.get("/", params={"town": " lannion "})).text)
    assert "1 lieu · lannion" in by_town
    assert "Fablab du Trégor" in by_town and "Médiathèque des Capucins" not in by_town

    by_kind = await web.get("/", params={"kind": "space"})
    assert "Médiathèque des Capucins" in text(by_kind.text)
    assert "Fablab du Trégor" not in text(by_kind.text)
    assert by_id(by_kind.text, "kind")  # the select keeps the choice
    assert '<option value="space" selected>' in by_kind.text

    nothing = text((await web.get("/", params={"town": "Quimper"})).text)
    assert "0 lieu" in nothing and "Aucun lieu ne correspond" in nothing

    unknown_kind = text((await web.get("/", params={"kind": "spaceship"})).text)
    assert "2 lieux" in unknown_kind  # an unknown kind filters nothing rather than failing


async def test_place_page_shows_address_hours_closures_and_equipment(
    web: httpx.AsyncClient, town: Town
) -> None:
    response = await web.get(f"/places/{town.place_id}")
    assert response.status_code == 200
    page = text(response.text)
    assert "3 rue de la Mairie 22300 Lannion" in page
    assert "Horaires à l'heure de Paris." in page
    assert "Lundi 09:00-12:30, 14:00-18:00" in page
    assert "09:00\u201312:30" in response.text  # an en dash between times
    assert "Dimanche Fermé" in page
    assert "Mardi 2 mars 2027 — fermé (Inventaire)" in page
    assert "Lundi 29 mars 2027 — fermé (Lundi de Pâques)" in page  # public holiday
    for name in ("Découpeuse laser", "Poste CAO", "Imprimante 3D"):
        assert name in page
    assert "12 exemplaires" in page


async def test_resource_page_shows_training_and_a_week_of_free_times(
    web: httpx.AsyncClient, town: Town
) -> None:
    laser = text((await web.get(f"/resources/{town.laser_id}")).text)
    assert "Formation requise Sécurité laser" in laser
    assert "Durée d'une réservation de 1 h à 3 h, par pas de 30 min" in laser
    assert "Pause après chaque réservation 15 min" in laser
    assert "Disponibilités du lundi 1 mars au dimanche 7 mars" in laser
    # Now is 09:00 with one hour of notice; tomorrow is closed; Sunday too.
    assert "Lundi 1 mars 10:00-12:30 14:00-18:00 Mardi 2 mars Fermé" in laser
    assert "Dimanche 7 mars Fermé" in laser

    seats = text((await web.get(f"/resources/{town.seats_id}")).text)
    assert "Capacité 12 postes" in seats
    # 3 of the 12 seats are booked on Wednesday 10:00-11:00.
    assert (
        "Mercredi 3 mars 09:00-10:00 12 libres 10:00-11:00 9 libres 11:00-12:00 12 libres "
        "14:00-18:00 12 libres"
    ) in seats


async def test_resource_week_navigation_never_goes_before_today(
    web: httpx.AsyncClient, town: Town
) -> None:
    later = await web.get(f"/resources/{town.printer_id}", params={"from": "2027-03-08"})
    page = text(later.text)
    assert "Disponibilités du lundi 8 mars au dimanche 14 mars" in page
    assert f'href="/resources/{town.printer_id}?from=2027-03-01"' in later.text
    past = text(
        (await web.get(f"/resources/{town.printer_id}", params={"from": "2020-01-01"})).text
    )
    assert "Disponibilités du lundi 1 mars au dimanche 7 mars" in past
    assert "7 jours précédents" not in past


async def test_errors_are_pages_for_browsers_and_problems_for_programs(
    web: httpx.AsyncClient, town: Town
) -> None:
    missing_place = await web.get("/places/999999")
    assert missing_place.status_code == 404
    assert missing_place.headers["content-type"].startswith("text/html")
    assert "Ce lieu n'existe pas ou n'est plus référencé." in text(missing_place.text)

    bad_query = await web.get(f"/resources/{town.laser_id}", params={"from": "demain"})
    assert bad_query.status_code == 400
    assert "Cette demande n'a pas pu être comprise" in text(bad_query.text)

    unknown = await web.get("/nulle-part")
    assert unknown.status_code == 404
    assert "Page introuvable" in text(unknown.text)
    assert "Traceback" not in unknown.text

    api = await web.get("/api/nulle-part", headers={"accept": "application/json"})
    assert api.status_code == 404
    assert api.headers["content-type"] == "application/problem+json"
    program = await web.get("/nulle-part", headers={"accept": "application/json"})
    assert program.headers["content-type"] == "application/problem+json"


async def test_english_from_the_browser_then_from_the_language_switch(
    web: httpx.AsyncClient, town: Town
) -> None:
    english = await web.get(f"/places/{town.place_id}", headers={"accept-language": "en-GB,en"})
    assert '<html lang="en">' in english.text
    assert "Monday 09:00-12:30, 14:00-18:00" in text(english.text)
    assert "Tuesday, 2 March 2027 — closed (Inventaire)" in text(english.text)

    switched = await submit(web, "/", "/language", {"lang": "en", "next": "/?town=Lannion"})
    assert switched.status_code == 303
    assert switched.headers["location"] == "/?town=Lannion"
    assert "mutualab_lang=en" in switched.headers["set-cookie"]
    home = await web.get("/?town=Lannion")  # Accept-Language still says French
    assert '<html lang="en">' in home.text
    assert "Book shared equipment near you" in text(home.text)
    assert "1 place · Lannion" in text(home.text)

    back = await submit(web, "/", "/language", {"lang": "fr", "next": "https://evil.example/"})
    assert back.headers["location"] == "/"  # never a redirect off the site
    assert '<html lang="fr">' in (await web.get("/")).text


async def test_static_stylesheet_is_served_with_a_long_cache(web: httpx.AsyncClient) -> None:
    home = await web.get("/")
    href = next(e["href"] for e in elements(home.text, "link") if e.get("rel") == "stylesheet")
    assert href.startswith("/static/web/mutualab.css?v=")
    css = await web.get(href)
    assert css.status_code == 200
    assert css.headers["content-type"].startswith("text/css")
    assert "max-age=31536000" in css.headers["cache-control"]
    assert ":focus" in css.text


async def test_a_wrong_method_on_a_page_says_which_ones_work(web: httpx.AsyncClient) -> None:
    response = await web.put("/login")
    assert response.status_code == 405
    assert response.headers["content-type"].startswith("text/html")
    assert set(response.headers["allow"].replace(" ", "").split(",")) >= {"GET", "POST"}


async def test_public_pages_are_not_stored_once_someone_is_logged_in(
    web: httpx.AsyncClient, town: Town
) -> None:
    anonymous = await web.get("/")
    assert anonymous.headers["cache-control"] == "private, no-cache"
    await log_in(web, town.citizen_email)
    # The page now names who is logged in: a shared computer must not keep it.
    mine = await web.get("/")
    assert mine.headers["cache-control"] == "no-store"
    assert mine.headers["x-frame-options"] == "DENY"

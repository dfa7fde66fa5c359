"""The demo as a newcomer meets it, in Chromium (issue 19, items 5, 6 and 8): ``mutualab demo``
served on another port than 8000, its fresh passwords printed; Léa's pending request named as a
request and the laser's training she lacks; Camille's rate, training and bookings, whose
calendar file, the page it links to and her private feed all answer on the demo's own port.

Each page visited is checked by axe-core and photographed on demand at 360 and 1280 px.
"""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.support import ROOT, LiveServer, PageChecker
from tests.support.mailbox import TEST_SECRET_KEY
from tests.support.net import free_port
from tests.support.postgres import PostgresServer

CAMILLE = "camille@demo.mutualab.example"
LEA = "lea@demo.mutualab.example"
PRINTER = "Imprimante 3D Prusa MK4"
LASER = "Découpeuse laser 60 W"
# Variables the demo sets itself when they are not set: the test's own must not leak in.
UNSET = ("MUTUALAB_PUBLIC_BASE_URL", "MUTUALAB_IN_PROCESS_WORKER", "MUTUALAB_SMTP_URL")


@dataclass(frozen=True)
class Demo:
    """A running demo: where it answers, its printed password, its database."""

    url: str
    password: str
    database_url: str


def _printed_password(out: Path, process: subprocess.Popen[bytes]) -> str:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        found = re.search(r"password for all: (\S+)\):", out.read_text())
        if found:
            return found.group(1)
        if process.poll() is not None:
            break
        time.sleep(0.2)
    pytest.fail(f"the demo printed no password:\n{out.read_text()[-3000:]}", pytrace=False)


def _wait_until_up(url: str, out: Path, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"the demo stopped:\n{out.read_text()[-3000:]}", pytrace=False)
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=2) as response:  # noqa: S310
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    pytest.fail(f"the demo did not answer in 60 s:\n{out.read_text()[-3000:]}", pytrace=False)


@pytest.fixture(scope="module")
def demo(
    server: LiveServer, postgres_server: PostgresServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Demo]:
    """``mutualab demo --reset-passwords`` on a database of its own and a free port."""
    del server  # the session's server comes first (see the browser fixture)
    work = tmp_path_factory.mktemp("demo")
    with ThreadPoolExecutor(max_workers=1) as pool:  # Playwright's loop may own this thread
        database_url = pool.submit(postgres_server.create_database, "mutualab_demo").result()
    port = free_port()
    assert port != 8000
    env = {name: value for name, value in os.environ.items() if name not in UNSET}
    env |= {
        "MUTUALAB_DATABASE_URL": database_url,
        "MUTUALAB_SECRET_KEY": TEST_SECRET_KEY,
        "MUTUALAB_PHOTOS_DIR": str(work / "photos"),
        "PYTHONUNBUFFERED": "1",
    }
    out = work / "demo.log"
    command = [sys.executable, "-m", "mutualab", "demo", "--host", "127.0.0.1"]
    with out.open("wb") as output:
        process = subprocess.Popen(
            [*command, "--port", str(port), "--reset-passwords"],
            env=env,
            cwd=ROOT,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        password = _printed_password(out, process)
        _wait_until_up(url, out, process)
        yield Demo(url, password, database_url)
    finally:
        process.terminate()
        process.wait(timeout=30)


def _resource_id(demo: Demo, name: str) -> int:
    """The first demo place's resource of that name (read in a thread: Playwright's loop owns
    this one)."""

    async def read() -> int:
        connection = await asyncpg.connect(demo.database_url.replace("+asyncpg", ""))
        try:
            found = await connection.fetchval(
                "SELECT min(id) FROM resource WHERE name = $1 AND active", name
            )
        finally:
            await connection.close()
        assert isinstance(found, int), name
        return found

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, read()).result()


@pytest.fixture
def tab(browser: Browser, demo: Demo) -> Iterator[Page]:
    """A fresh tab on the demo, French, desktop-sized."""
    context = browser.new_context(
        base_url=demo.url, locale="fr-FR", viewport={"width": 1280, "height": 900}
    )
    context.set_default_timeout(10_000)
    yield context.new_page()
    context.close()


def _log_in(page: Page, email: str, password: str) -> None:
    page.goto("/login")
    page.get_by_label("Adresse e-mail").fill(email)
    page.get_by_label("Mot de passe").fill(password)
    page.get_by_role("button", name="Se connecter").click()
    expect(page).to_have_url(re.compile("/account"))


def test_lea_sees_her_request_named_so_and_the_training_the_laser_needs(
    tab: Page, demo: Demo, check_page: PageChecker
) -> None:
    _log_in(tab, LEA, demo.password)
    tab.goto("/account/bookings")
    upcoming = tab.get_by_role("region", name="À venir")
    expect(upcoming.get_by_text("Demande en attente de validation").first).to_be_visible()
    # A request is withdrawn, a booking cancelled: each card says which it is.
    expect(
        upcoming.get_by_role("link", name=re.compile("^Retirer la demande")).first
    ).to_be_visible()
    check_page(tab, "demo-lea-bookings")

    tab.goto(f"/resources/{_resource_id(demo, LASER)}")
    expect(
        tab.get_by_text("Demandez à l'équipe du lieu comment la suivre avant de réserver.")
    ).to_be_visible()
    check_page(tab, "demo-lea-laser")


def test_camille_s_calendar_file_page_and_feed_answer_on_the_demo_s_port(
    tab: Page, demo: Demo, check_page: PageChecker
) -> None:
    _log_in(tab, CAMILLE, demo.password)
    tab.goto(f"/resources/{_resource_id(demo, PRINTER)}")
    expect(tab.get_by_text("Votre tarif : Particulier.")).to_be_visible()
    tab.goto(f"/resources/{_resource_id(demo, LASER)}")
    expect(tab.get_by_text("Vous avez suivi cette formation.")).to_be_visible()

    tab.goto("/account/bookings")
    upcoming = tab.get_by_role("region", name="À venir")
    expect(upcoming.get_by_text("Confirmée").first).to_be_visible()
    check_page(tab, "demo-camille-bookings")
    upcoming.get_by_role("link", name=re.compile("^Détails et agenda")).first.click()
    expect(tab).to_have_url(re.compile(r"/account/bookings/\d+$"))
    booking_page = tab.url
    assert booking_page.startswith(f"{demo.url}/account/bookings/")
    check_page(tab, "demo-camille-booking")

    # The calendar file links back to this very page, on the demo's port.
    href = tab.get_by_role("link", name=re.compile("^Ajouter à mon agenda")).get_attribute("href")
    assert href is not None
    calendar = tab.request.get(href)
    assert calendar.status == 200
    assert calendar.headers["content-type"].startswith("text/calendar")
    unfolded = calendar.text().replace("\r\n ", "")
    assert f"URL:{booking_page}" in unfolded
    tab.goto(booking_page)
    expect(tab.get_by_role("heading", level=1)).to_be_visible()

    # The private feed's address is on the demo's port too, and it answers.
    tab.get_by_role("button", name="Obtenir mon lien d'abonnement privé").click()
    expect(tab.get_by_role("heading", level=1)).to_have_text("Mon abonnement d'agenda privé")
    feed = tab.get_by_label("Adresse d'abonnement").input_value()
    assert feed.startswith(f"{demo.url}/"), feed
    check_page(tab, "demo-camille-feed")
    subscribed = tab.request.get(feed)
    assert subscribed.status == 200
    assert subscribed.text().count("BEGIN:VEVENT") >= 2
    assert f"URL:{booking_page}" in subscribed.text().replace("\r\n ", "")

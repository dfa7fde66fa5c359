"""Statistics of a place equal the figures counted by hand from the bookings the test makes.

The fablab is open 08:00-20:00 every day (Paris), closed on 10 March 2027 and on Easter
Monday (29 March), and its printer is in maintenance on 15 March from 10:00 to 12:00. The
expected figures below come from those facts and the rates of ``price_fablab``, never from the
statistics code.
"""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta
from decimal import Decimal

import httpx
from openpyxl import load_workbook

from kernel.db import Database
from tests.reports.support import Seeded, ok
from tests.support.accounts import make_user

MARCH = [date(2027, 3, 1) + timedelta(days=n) for n in range(31)]
CLOSED = {date(2027, 3, 10), date(2027, 3, 29)}  # the closure, Easter Monday
OPEN_MINUTES = sum(12 * 60 for day in MARCH if day not in CLOSED)


def _pct(part: int, whole: int) -> Decimal:
    return (Decimal(part) * 100 / whole).quantize(Decimal("0.1"))


async def test_march_statistics_equal_the_figures_counted_from_the_bookings(
    api: httpx.AsyncClient, seeded: Seeded
) -> None:
    lab = seeded.lab
    stats = await ok(
        await api.get(
            f"/api/places/{lab.place_id}/statistics?period=month&at=2027-03",
            headers=seeded.manager.headers,
        )
    )
    assert (stats["first_day"], stats["last_day"]) == ("2027-03-01", "2027-03-31")
    assert stats["bookings"] == 3
    assert stats["booked_minutes"] == 120 + 120 + 60
    assert stats["unique_people"] == 3
    assert stats["new_people"] == 2  # A first booked in February
    assert stats["cancelled"] == 1
    assert Decimal(stats["cancellation_percent"]) == Decimal("25.0")
    assert stats["no_shows"] == 0  # check-in exists: none missed
    assert (stats["sessions"], stats["sessions_by_kind"]) == (0, [])  # no programme here
    by_type = {t["user_type"]: t for t in stats["by_user_type"]}
    assert {k: (v["bookings"], v["booked_minutes"], v["people"]) for k, v in by_type.items()} == {
        "citizen": (2, 180, 2),
        "student": (1, 120, 1),
    }
    occupancy = {r["resource_id"]: r for r in stats["occupancy"]}
    expected = {
        lab.printer: (1, OPEN_MINUTES - 120, 120),
        lab.seats: (12, OPEN_MINUTES * 12, 3 * 120),
        lab.laser: (1, OPEN_MINUTES, 60),
        lab.room: (1, OPEN_MINUTES, 0),
    }
    assert {
        rid: (r["units"], r["open_minutes"], r["booked_minutes"]) for rid, r in occupancy.items()
    } == expected
    for rid, (_, open_minutes, booked) in expected.items():
        assert Decimal(occupancy[rid]["occupancy_percent"]) == _pct(booked, open_minutes)
    # Printer 2 h x 10 EUR + 20 % VAT; seats 3 x 2 h x 2 EUR + 5 EUR fee + 10 % VAT; laser
    # 1 h x 30 EUR + 20 % VAT. The cancelled booking was refunded whole (48 h before).
    printer, seats, laser = 2400, 1870, 3600
    assert stats["revenue_cents"] == printer + seats + laser
    assert {a["key"]: a["cents"] for a in stats["revenue_by_resource"]} == {
        str(lab.printer): printer,
        str(lab.seats): seats,
        str(lab.laser): laser,
    }
    assert {a["key"]: a["cents"] for a in stats["revenue_by_user_type"]} == {
        "citizen": printer + laser,
        "student": seats,
    }
    assert {a["key"]: a["cents"] for a in stats["revenue_by_method"]} == {
        "on_site": printer + seats + laser
    }


async def test_a_quarter_and_a_year_add_up_the_months(
    api: httpx.AsyncClient, seeded: Seeded
) -> None:
    url = f"/api/places/{seeded.lab.place_id}/statistics"
    quarter = await ok(
        await api.get(f"{url}?period=quarter&at=2027-Q1", headers=seeded.manager.headers)
    )
    year = await ok(await api.get(f"{url}?period=year&at=2027", headers=seeded.manager.headers))
    assert (quarter["bookings"], quarter["unique_people"], quarter["new_people"]) == (4, 3, 3)
    assert quarter["booked_minutes"] == 120 + 300
    assert [
        (m["month"], m["bookings"], m["booked_minutes"], m["people"]) for m in quarter["by_month"]
    ] == [
        ("2027-01", 0, 0, 0),
        ("2027-02", 1, 120, 1),
        ("2027-03", 3, 300, 3),
    ]
    assert len(year["by_month"]) == 12 and year["by_month"][3]["bookings"] == 1  # April
    assert (year["bookings"], year["new_people"]) == (5, 3)
    assert (
        year["revenue_cents"] == 2400 + 2400 + 1870 + 3600 + 3600
    )  # April: the student, 2 h x 15 EUR + VAT


async def test_only_the_place_managers_and_admins_see_it_and_bad_periods_are_422(
    api: httpx.AsyncClient, seeded: Seeded, admin_headers: dict[str, str], database: Database
) -> None:
    url = f"/api/places/{seeded.lab.place_id}/statistics"
    assert (await api.get(url, headers=seeded.citizen_a.headers)).status_code == 403
    stranger = await make_user(database, "autre@lieu.test", manages=(seeded.lab.place_id + 1,))
    assert (await api.get(url, headers=stranger.headers)).status_code == 403
    assert (await api.get(url, headers=admin_headers)).status_code == 200
    wrong = await api.get(f"{url}?period=month&at=2027-13", headers=seeded.manager.headers)
    assert wrong.status_code == 422
    assert wrong.json()["errors"][0]["field"] == "at"
    platform = await api.get("/api/statistics?period=month&at=2027-03", headers=admin_headers)
    assert (await ok(platform))["bookings"] == 4  # the other place's room too
    refused = await api.get("/api/statistics", headers=seeded.manager.headers)
    assert refused.status_code == 403


async def test_the_bookings_export_holds_the_place_s_bookings_only(
    api: httpx.AsyncClient, seeded: Seeded
) -> None:
    base = f"/api/places/{seeded.lab.place_id}/exports/bookings?from=2027-03-01&to=2027-04-01"
    xlsx = await api.get(f"{base}&format=xlsx", headers=seeded.manager.headers)
    assert xlsx.status_code == 200, xlsx.text
    sheet = load_workbook(io.BytesIO(xlsx.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][0] == "Référence"
    assert {row[0] for row in rows[1:]} == seeded.references
    as_csv = await api.get(f"{base}&format=csv", headers=seeded.manager.headers)
    lines = list(csv.reader(io.StringIO(as_csv.content.decode("utf-8-sig"))))
    assert {line[0] for line in lines[1:]} == seeded.references
    inverted = await api.get(
        f"/api/places/{seeded.lab.place_id}/exports/bookings?from=2027-04-01&to=2027-03-01",
        headers=seeded.manager.headers,
    )
    assert inverted.status_code == 422


async def test_the_statistics_page_shows_the_figures_charts_and_export_links(
    api: httpx.AsyncClient, seeded: Seeded, admin_headers: dict[str, str]
) -> None:
    url = f"/manage/places/{seeded.lab.place_id}/statistics?period=month&at=2027-03"
    html = (await api.get(url, headers=seeded.manager.headers)).text
    assert "<svg" in html and "Occupation par équipement" in html
    assert "78,70" in html  # the month's revenue, in French
    assert f"/api/places/{seeded.lab.place_id}/exports/bookings?from=2027-03-01" in html
    bad = await api.get(url.replace("2027-03", "mars"), headers=seeded.manager.headers)
    assert bad.status_code == 422 and 'aria-invalid="true"' in bad.text
    platform = await api.get("/manage/statistics?period=year&at=2027", headers=admin_headers)
    assert platform.status_code == 200, platform.text
    refused = await api.get("/manage/statistics", headers=seeded.manager.headers)
    assert refused.status_code == 403

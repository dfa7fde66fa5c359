"""Sign-up, log-in, log-out and my account through the forms."""

from __future__ import annotations

import httpx
from sqlalchemy import text as text_sql

from accounts.models import Invitation, Organisation
from kernel.db import Database
from kernel.settings import Settings
from tests.support.mailbox import link_in, messages_to, path_of, token_of
from tests.web.helpers import by_id, csrf, elements, log_in, submit, text, unlabelled_controls
from tests.web.seed import PASSWORD, Town

GOOD = "quartz-meadow-lantern-58"


async def test_sign_up_form_has_labels_hints_and_a_csrf_token(web: httpx.AsyncClient) -> None:
    response = await web.get("/signup")
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    assert csrf(response.text)
    assert unlabelled_controls(response.text) == []
    assert by_id(response.text, "password")["aria-describedby"] == "password-hint"
    assert by_id(response.text, "email")["autocomplete"] == "email"
    options = [e.get("value") for e in elements(response.text, "option")]
    assert options == ["", "student", "job_seeker"]  # only reduced rates a person may ask for


async def test_sign_up_errors_are_next_to_their_fields_and_typed_values_stay(
    web: httpx.AsyncClient,
) -> None:
    response = await submit(
        web,
        "/signup",
        "/signup",
        {
            "display_name": "",
            "email": "camille@",
            "password": "short",
            "requested_user_type": "student",
        },
    )
    assert response.status_code == 422
    html = response.text
    page = text(html)
    assert "<title>Erreur : Créer un compte \u2013 Mutualab</title>" in html
    assert "Il y a 3 erreurs" in page
    summary_links = [e["href"] for e in elements(html, "a") if e["href"].startswith("#")]
    assert summary_links == ["#main", "#display_name", "#email", "#password"]
    for field in ("display_name", "email", "password"):
        control = by_id(html, field)
        assert control["aria-invalid"] == "true"
        assert f"{field}-error" in control["aria-describedby"]
    assert "Indiquez votre nom (120 caractères au plus)." in text(html)
    assert "Indiquez une adresse e-mail comme nom@exemple.fr." in page
    assert by_id(html, "email")["value"] == "camille@"  # kept
    assert "value" not in by_id(html, "password")  # a password is never sent back
    assert '<option value="student" selected>' in html


async def test_sign_up_weak_password_is_explained_and_a_taken_address_answers_like_a_new_one(
    web: httpx.AsyncClient, town: Town, database: Database
) -> None:
    weak = await submit(
        web,
        "/signup",
        "/signup",
        {"display_name": "Alex", "email": "alex@example.fr", "password": "password123"},
    )
    assert weak.status_code == 422
    assert "Ce mot de passe est trop facile à deviner" in text(weak.text)
    assert by_id(weak.text, "display_name")["value"] == "Alex"

    answers = []
    for email in ("Camille@Example.fr", "nouveau@example.fr"):  # taken, then new
        web.cookies.clear()
        answer = await submit(
            web, "/signup", "/signup", {"display_name": "C", "email": email, "password": GOOD}
        )
        shown = await web.get(answer.headers["location"])
        answers.append((answer.status_code, answer.headers["location"], text(shown.text)))
        assert (await web.get("/account")).status_code == 303  # no session either way
    assert answers[0] == answers[1]
    assert answers[0][:2] == (303, "/check-your-inbox?sent=signup")
    assert "Consultez votre boîte de réception" in answers[0][2]
    # The owner of the taken address is told; the new one gets its link.
    assert [m.template for m in await messages_to(database, town.citizen_email)] == [
        "account_signup_taken"
    ]
    assert [m.template for m in await messages_to(database, "nouveau@example.fr")] == [
        "account_verify"
    ]


async def test_sign_up_then_the_mailed_link_and_the_password_log_in(
    web: httpx.AsyncClient, database: Database
) -> None:
    response = await submit(
        web,
        "/signup",
        "/signup",
        {
            "display_name": "Alex Durand",
            "email": "alex@example.fr",
            "password": GOOD,
            "requested_user_type": "student",
        },
    )
    assert response.headers["location"] == "/check-your-inbox?sent=signup"
    (mail,) = await messages_to(database, "alex@example.fr", "account_verify")
    assert mail.sensitive and mail.language == "fr"
    link = link_in(mail, "/verify-email")
    form = await web.get(path_of(link))
    assert form.status_code == 200
    assert unlabelled_controls(form.text) == []
    wrong = await web.post(
        "/verify-email",
        data={"token": token_of(link), "password": "nope", "_csrf_token": csrf(form.text)},
    )
    assert wrong.status_code == 422
    assert by_id(wrong.text, "password")["aria-invalid"] == "true"
    right = await web.post(
        "/verify-email",
        data={"token": token_of(link), "password": GOOD, "_csrf_token": csrf(form.text)},
    )
    assert right.status_code == 303
    assert right.headers["location"] == "/account?notice=email_verified"
    account = await web.get(right.headers["location"])
    page = text(account.text)
    assert "Votre adresse électronique est confirmée et votre session est ouverte." in page
    assert "Nom Alex Durand" in page
    assert "Tarif Particulier" in page
    assert "Demandé : Étudiant, en attente de vérification" in page
    assert (await web.get("/signup")).headers["location"] == "/account"  # already in
    again = await web.get(path_of(link))
    assert again.status_code == 410
    assert "Ce lien a déjà servi" in text(again.text)
    tampered = await web.get("/verify-email?token=" + token_of(link)[:-2] + "xx")
    assert tampered.status_code == 422
    assert "Ce lien n'est pas valide" in text(tampered.text)


async def test_forms_without_csrf_token_are_refused_with_a_page(web: httpx.AsyncClient) -> None:
    await web.get("/signup")  # the CSRF cookie is set, but the form field is missing
    response = await web.post(
        "/signup", data={"display_name": "X", "email": "x@example.fr", "password": GOOD}
    )
    assert response.status_code == 403
    assert response.headers["content-type"].startswith("text/html")
    assert "Ce formulaire a expiré" in text(response.text)
    assert 'href="/signup"' in response.text


async def test_log_in_errors_keep_the_email_and_lock_after_repeated_failures(
    web: httpx.AsyncClient, town: Town, settings: Settings
) -> None:
    empty = await submit(web, "/login", "/login", {"email": "", "password": ""})
    assert empty.status_code == 422
    assert "Il y a 2 erreurs" in text(empty.text)

    wrong = await submit(web, "/login", "/login", {"email": town.citizen_email, "password": "nope"})
    assert wrong.status_code == 401
    assert "L'adresse e-mail ou le mot de passe est incorrect." in text(wrong.text)
    assert by_id(wrong.text, "email")["value"] == town.citizen_email
    for _ in range(settings.login_max_failures):
        last = await submit(web, "/login", "/login", {"email": town.citizen_email, "password": "x"})
    assert last.status_code == 429
    assert last.headers["retry-after"] == "1"  # the first wait; each further one doubles
    assert "Trop de tentatives : attendez 1 s avant de réessayer." in text(last.text)
    locked = await submit(
        web, "/login", "/login", {"email": town.citizen_email, "password": PASSWORD}
    )
    assert locked.status_code == 429  # even the right password waits


async def test_private_pages_send_strangers_to_log_in_and_back(
    web: httpx.AsyncClient, town: Town
) -> None:
    for path in ("/account", "/account/bookings", "/manage"):
        response = await web.get(path)
        assert response.status_code == 303
        assert response.headers["location"] == f"/login?next={path.replace('/', '%2F')}"
    login_page = await web.get("/login?next=/account/bookings")
    assert by_id(login_page.text, "email")
    response = await web.post(
        "/login",
        data={
            "email": town.citizen_email,
            "password": PASSWORD,
            "next": "/account/bookings",
            "_csrf_token": csrf(login_page.text),
        },
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/account/bookings"


async def test_log_in_never_redirects_off_the_site(web: httpx.AsyncClient, town: Town) -> None:
    page = await web.get("/login?next=//evil.example/")
    assert 'name="next" value=""' in page.text
    response = await web.post(
        "/login",
        data={
            "email": town.citizen_email,
            "password": PASSWORD,
            "next": "https://evil.example/",
            "_csrf_token": csrf(page.text),
        },
    )
    assert response.headers["location"] == "/account?notice=logged_in"


async def test_my_account_shows_rate_trainings_and_managed_places(
    web: httpx.AsyncClient, town: Town, database: Database
) -> None:
    await log_in(web, town.citizen_email)
    citizen = text((await web.get("/account")).text)
    assert "Tarif Particulier" in citizen
    assert "Sécurité laser (Fablab du Trégor) - depuis le samedi 30 janvier 2027" in citizen
    assert "Vous n'appartenez à aucune organisation" in citizen
    assert "Lieux que je gère" not in citizen

    await submit(web, "/account", "/logout", {})
    await log_in(web, town.manager_email)
    manager = await web.get("/account")
    assert "Lieux que je gère Fablab du Trégor" in text(manager.text)
    assert 'href="/manage"' in manager.text


async def test_log_out_ends_the_session(web: httpx.AsyncClient, town: Town) -> None:
    await log_in(web, town.citizen_email)
    assert (await web.get("/account")).status_code == 200
    response = await submit(web, "/account", "/logout", {})
    assert response.status_code == 303
    assert response.headers["location"] == "/?notice=logged_out"
    assert "Déconnexion effectuée." in text((await web.get("/?notice=logged_out")).text)
    assert (await web.get("/account")).status_code == 303


async def test_my_account_page_offers_my_data_and_erasure(
    web: httpx.AsyncClient, town: Town, database: Database
) -> None:
    await log_in(web, town.citizen_email)
    account = await web.get("/account")
    assert "Télécharger toutes mes données (JSON)" in text(account.text)
    assert unlabelled_controls(account.text) == []
    download = await web.get("/account/export")
    assert download.status_code == 200
    assert "attachment" in download.headers["content-disposition"]
    assert download.json()["account"]["email"] == town.citizen_email
    assert [b["id"] for b in download.json()["bookings"]] == [town.booking_id]
    wrong = await submit(web, "/account", "/account/erase", {"password": "not-my-password"})
    assert wrong.status_code == 422
    assert by_id(wrong.text, "password")["aria-invalid"] == "true"
    assert (await web.get("/account")).status_code == 200  # nothing erased
    erased = await submit(web, "/account", "/account/erase", {"password": PASSWORD})
    assert erased.status_code == 303
    assert erased.headers["location"].startswith("/?notice=account_erased")
    async with database.engine.connect() as conn:
        row = (
            await conn.execute(
                text_sql("SELECT email, active FROM user_account WHERE id = :i"),
                {"i": town.citizen_id},
            )
        ).one()
    assert tuple(row) == (f"deleted-{town.citizen_id}@invalid", False)
    # Logged out, and the old password opens nothing.
    assert (await web.get("/account")).status_code == 303


async def test_guessing_the_password_to_erase_is_slowed_on_the_account_page(
    web: httpx.AsyncClient, town: Town
) -> None:
    await log_in(web, town.citizen_email)
    # Each wrong password counts as a log-in attempt; past the free ones, the page says wait.
    for _ in range(20):
        wrong = await submit(web, "/account", "/account/erase", {"password": "not-my-password"})
        if wrong.status_code != 422:
            break
    assert wrong.status_code == 429, wrong.text[:300]
    assert int(wrong.headers["retry-after"]) >= 1
    assert by_id(wrong.text, "password")["aria-invalid"] == "true"
    assert "Trop de tentatives" in text(wrong.text)
    assert (await web.get("/account")).status_code == 200  # nothing erased


async def test_the_invitations_page_joins_or_declines_an_organisation(
    web: httpx.AsyncClient, town: Town, database: Database
) -> None:
    invitations: dict[str, int] = {}
    async with database.writer() as session, session.begin():
        for name in ("Collège Jean Jaurès", "Club de robotique"):
            organisation = Organisation(
                name=name,
                user_type_code="school",
                billing_address="1 rue",
                billing_postcode="22300",
                billing_town="Lannion",
            )
            session.add(organisation)
            await session.flush()
            assert organisation.id is not None
            invitation = Invitation(
                organisation_id=organisation.id, email=town.citizen_email, role="booker"
            )
            session.add(invitation)
            await session.flush()
            assert invitation.id is not None
            invitations[name] = invitation.id
    await log_in(web, town.citizen_email)
    listed = await web.get("/account/invitations")
    assert listed.status_code == 200
    assert unlabelled_controls(listed.text) == []
    page = text(listed.text)
    assert "Rejoindre Collège Jean Jaurès" in page and "Rejoindre Club de robotique" in page
    token = csrf(listed.text)
    school, club = invitations["Collège Jean Jaurès"], invitations["Club de robotique"]
    joined = await web.post(f"/account/invitations/{school}/accept", data={"_csrf_token": token})
    assert joined.headers["location"] == "/account?notice=invitation_accepted"
    declined = await web.post(f"/account/invitations/{club}/decline", data={"_csrf_token": token})
    assert declined.headers["location"] == "/account/invitations?notice=invitation_declined"
    after = text((await web.get(declined.headers["location"])).text)
    assert "Aucune organisation ne vous a invité." in after
    account = text((await web.get("/account")).text)
    assert "Collège Jean Jaurès" in account
    assert "Club de robotique" not in account


async def test_my_messages_language_and_reminders_are_set_on_the_account_page(
    web: httpx.AsyncClient, town: Town, database: Database
) -> None:
    await log_in(web, town.citizen_email)
    page = await web.get("/account")
    assert by_id(page.text, "reminders").get("checked") is not None  # on by default
    assert unlabelled_controls(page.text) == []
    saved = await submit(web, "/account", "/account/messages", {"language": "en"})
    assert saved.status_code == 303
    assert saved.headers["location"] == "/account?notice=messages_saved"
    async with database.engine.connect() as conn:
        row = (
            await conn.execute(
                text_sql("SELECT language, reminders FROM user_account WHERE id = :i"),
                {"i": town.citizen_id},
            )
        ).one()
    # An unticked box is not sent: reminders off.
    assert tuple(row) == ("en", False)
    again = await web.get("/account?notice=messages_saved")
    assert by_id(again.text, "reminders").get("checked") is None
    assert '<option value="en" lang="en" selected>' in again.text
    assert "Vos préférences de messages sont enregistrées." in text(again.text)
    wrong = await submit(
        web, "/account", "/account/messages", {"language": "de", "reminders": "on"}
    )
    assert wrong.status_code == 422
    assert by_id(wrong.text, "language")["aria-invalid"] == "true"

"""The recipient's language: one rule for every message (templates, facts, pages)."""

from __future__ import annotations

import pytest

from notifications.wording import language_of


@pytest.mark.parametrize(
    ("asked", "written_in"),
    [("en", "en"), ("en-GB", "en"), ("EN_us", "en"), (" fr-CA ", "fr"), ("de", "fr"), (None, "fr")],
)
def test_a_regional_or_unknown_language_falls_back_to_the_nearest_we_write(
    asked: str | None, written_in: str
) -> None:
    assert language_of(asked) == written_in

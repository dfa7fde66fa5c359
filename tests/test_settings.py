"""The secret key: refused when short, written whole when made, required for several workers."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from pydantic import ValidationError

from kernel.settings import SECRET_KEY_PATH, SecretKeyError, Settings


def test_a_short_configured_key_is_refused_at_start_up() -> None:
    with pytest.raises(ValidationError, match="at least 32 characters"):
        Settings(secret_key="too-short-to-sign-anything")
    assert Settings(secret_key="k" * 32).resolved_secret_key() == b"k" * 32


def test_the_fallback_key_is_made_once_and_shared(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    keys: list[bytes] = []
    barrier = threading.Barrier(8)

    def worker() -> None:
        barrier.wait()  # eight workers starting at once, as `serve --workers 8` would
        keys.append(Settings().resolved_secret_key())

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(keys) == 8 and len(set(keys)) == 1
    assert len(keys[0]) >= 32
    assert (tmp_path / SECRET_KEY_PATH).stat().st_mode & 0o777 == 0o600
    assert [p.name for p in (tmp_path / "var").iterdir()] == ["secret.key"]  # no leftovers


def test_an_empty_or_short_key_file_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "var").mkdir()
    # What a worker that lost the creation race used to read: a file not yet written.
    (tmp_path / SECRET_KEY_PATH).write_text("")
    with pytest.raises(SecretKeyError, match="no usable key"):
        Settings().resolved_secret_key()
    (tmp_path / SECRET_KEY_PATH).write_text("short\n")
    with pytest.raises(SecretKeyError):
        Settings().resolved_secret_key()


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(1)",
        "https://tiles.example/{z}/{x}.png",  # no {y}
        "https://tiles.example 'unsafe-inline'/{z}/{x}/{y}.png",  # would open the CSP
        "ftp://tiles.example/{z}/{x}/{y}.png",
    ],
)
def test_a_map_tile_server_must_be_a_web_address_with_z_x_y(url: str) -> None:
    with pytest.raises(ValidationError):
        Settings(map_tiles_url=url)


def test_the_pages_allow_images_from_the_tile_server_only() -> None:
    from mutualab.web.maps import tiles_origin

    assert tiles_origin("https://tile.openstreetmap.org/{z}/{x}/{y}.png") == (
        "https://tile.openstreetmap.org"
    )
    assert tiles_origin("https://{s}.tile.example.fr/osm/{z}/{x}/{y}.png") == (
        "https://*.tile.example.fr"
    )
    assert Settings(map_tiles_url="http://127.0.0.1:8080/{z}/{x}/{y}.png").map_tiles_url

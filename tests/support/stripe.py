"""A real local Stripe peer for the tests: ``localstripe``, started by the tests on 127.0.0.1.

localstripe's own CLI binds every interface and keeps its state in a fixed ``/tmp`` pickle;
:func:`serve` (run in a child process: ``python -m tests.support.stripe PORT STATE_DIR``) binds
the loopback only and keeps the state file in the run's temporary directory. The tests reach
it through the ``stripe`` library (``api_base``), like production reaches api.stripe.com, and
play the browser's part (attach a test card, confirm, pass 3-D Secure) through its HTTP API.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import pickle
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from tests.support.net import free_port

SECRET_KEY = "sk_test_mutualab_localstripe"  # localstripe accepts any sk_ key
WEBHOOK_SECRET = "whsec_mutualab_tests"
VISA = "pm_card_visa"
# Declined when charged (localstripe: 4000000000000341).
DECLINED = "pm_card_chargeCustomerFail"
THREE_D_SECURE_CARD = "4000002500003155"


def serve(port: int, state_dir: Path) -> None:
    """Run localstripe on 127.0.0.1:``port`` with its state file in ``state_dir`` (blocks)."""
    from aiohttp import web
    from localstripe import resources
    from localstripe.server import app

    state = state_dir / "localstripe.pickle"

    def dump_to_disk(self: Any) -> None:
        with state.open("wb") as handle:
            pickle.dump(self, handle, protocol=pickle.HIGHEST_PROTOCOL)

    resources.Store.dump_to_disk = dump_to_disk  # type: ignore[method-assign]
    web.run_app(app, host="127.0.0.1", port=port, print=None, access_log=None)


@dataclass
class LocalStripe:
    """The running peer: its address, and the browser's side of a card payment."""

    api_base: str
    process: subprocess.Popen[bytes]
    # One client for the run: a new one per call builds an SSL context each time (about 15 ms
    # of CPU), a twentieth of the billing tests' time.
    http: httpx.Client

    def _post(self, path: str, data: dict[str, Any]) -> httpx.Response:
        return self.http.post(path, data=data)

    def pay(self, intent_id: str, payment_method: str = VISA) -> dict[str, Any]:
        """What Stripe.js does in the browser: attach a card and confirm the PaymentIntent."""
        attached = self._post(
            f"/v1/payment_intents/{intent_id}", {"payment_method": payment_method}
        )
        assert attached.status_code == 200, attached.text
        confirmed = self._post(f"/v1/payment_intents/{intent_id}/confirm", {})
        body: dict[str, Any] = confirmed.json()
        body["_status_code"] = confirmed.status_code
        return body

    def card(self, number: str) -> str:
        """A PaymentMethod for a test card number (e.g. one that needs 3-D Secure)."""
        response = self._post(
            "/v1/payment_methods",
            {
                "type": "card",
                "card[number]": number,
                "card[exp_month]": "12",
                "card[exp_year]": "2030",
                "card[cvc]": "123",
            },
        )
        assert response.status_code == 200, response.text
        card_id: str = response.json()["id"]
        return card_id

    def authenticate(self, intent_id: str, client_secret: str, success: bool = True) -> None:
        """The 3-D Secure step the card holder completes in the browser."""
        response = self._post(
            f"/v1/payment_intents/{intent_id}/_authenticate",
            {"client_secret": client_secret, "success": "true" if success else "false"},
        )
        assert response.status_code == 200, response.text

    def intent(self, intent_id: str) -> dict[str, Any]:
        """The PaymentIntent as Stripe has it."""
        response = self.http.get(f"/v1/payment_intents/{intent_id}")
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    def refunds(self, intent_id: str) -> list[dict[str, Any]]:
        """Refunds of a PaymentIntent."""
        response = self.http.get("/v1/refunds", params={"payment_intent": intent_id})
        assert response.status_code == 200, response.text
        data: list[dict[str, Any]] = response.json()["data"]
        return data

    def register_webhook(self, url: str, secret: str = WEBHOOK_SECRET) -> None:
        """Make localstripe POST signed events to ``url`` (one endpoint at a time)."""
        response = self.http.post("/_config/webhooks/mutualab", data={"url": url, "secret": secret})
        assert response.status_code == 200, response.text


@contextmanager
def local_stripe(state_dir: Path) -> Iterator[LocalStripe]:
    """Start localstripe in a child process on a free loopback port; stop it afterwards."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.support.stripe", str(port), str(state_dir)],
        cwd=Path(__file__).resolve().parents[2],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("localstripe did not start") from None
                time.sleep(0.1)
        api_base = f"http://127.0.0.1:{port}"
        with httpx.Client(
            base_url=api_base, headers={"Authorization": f"Bearer {SECRET_KEY}"}, timeout=10
        ) as http:
            yield LocalStripe(api_base, process, http)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


def signed(
    event: dict[str, Any], secret: str = WEBHOOK_SECRET, at: int | None = None
) -> tuple[bytes, dict[str, str]]:
    """A webhook body and its ``Stripe-Signature`` header, signed as Stripe signs them."""
    payload = json.dumps(event, indent=2, sort_keys=True).encode()
    timestamp = int(time.time()) if at is None else at
    digest = hmac.new(
        secret.encode(), f"{timestamp}.".encode() + payload, hashlib.sha256
    ).hexdigest()
    return payload, {
        "Stripe-Signature": f"t={timestamp},v1={digest}",
        "Content-Type": "application/json",
    }


def event(event_type: str, intent: dict[str, Any], event_id: str | None = None) -> dict[str, Any]:
    """A Stripe event about a PaymentIntent, as Stripe would send it."""
    return {
        "id": event_id or f"evt_{os.urandom(8).hex()}",
        "object": "event",
        "type": event_type,
        "created": int(time.time()),
        "livemode": False,
        "api_version": "2017-08-15",
        "data": {"object": intent},
    }


if __name__ == "__main__":
    serve(int(sys.argv[1]), Path(sys.argv[2]))

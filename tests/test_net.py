"""The client's address behind trusted proxies, and the key it is throttled under (pure)."""

from __future__ import annotations

from ipaddress import ip_network

from kernel.net import client_address, throttling_key

PROXIES = [ip_network("10.0.0.0/8"), ip_network("2001:db8:ffff::/48")]


def test_without_trusted_proxies_the_peer_is_the_client() -> None:
    assert client_address("203.0.113.5", ["198.51.100.1"], []) == "203.0.113.5"
    assert client_address("10.0.0.2", ["198.51.100.1"], []) == "10.0.0.2"


def test_a_trusted_proxy_vouches_for_the_hop_before_it() -> None:
    assert client_address("10.0.0.2", ["198.51.100.1"], PROXIES) == "198.51.100.1"
    # Two proxies of ours, each appending what it saw.
    assert client_address("10.0.0.2", ["198.51.100.1, 10.0.0.9"], PROXIES) == "198.51.100.1"
    assert client_address("10.0.0.2", ["198.51.100.1", "10.0.0.9"], PROXIES) == "198.51.100.1"


def test_what_the_client_wrote_itself_is_ignored() -> None:
    forged = ["127.0.0.1, 10.1.1.1, 198.51.100.1"]  # the client claims to be a proxy of ours
    assert client_address("10.0.0.2", forged, PROXIES) == "198.51.100.1"
    # A peer that is not a proxy of ours is believed over any header it sends.
    assert client_address("203.0.113.5", ["10.0.0.3"], PROXIES) == "203.0.113.5"


def test_odd_entries() -> None:
    assert client_address("10.0.0.2", ["[2001:db8::7]:443"], PROXIES) == "2001:db8::7"
    assert client_address("10.0.0.2", ["198.51.100.1:5000"], PROXIES) == "198.51.100.1"
    assert client_address("10.0.0.2", ["not-an-address"], PROXIES) == "10.0.0.2"
    assert client_address("10.0.0.2", [], PROXIES) == "10.0.0.2"
    assert client_address(None, [], PROXIES) == "unknown"


def test_ipv6_is_throttled_by_its_slash_64() -> None:
    assert throttling_key("2001:db8:1:2::1") == throttling_key("2001:db8:1:2:abcd::9")
    assert throttling_key("2001:db8:1:2::1") == "2001:db8:1:2::/64"
    assert throttling_key("2001:db8:1:3::1") != throttling_key("2001:db8:1:2::1")
    assert throttling_key("198.51.100.1") == "198.51.100.1"
    assert throttling_key("::ffff:198.51.100.1") == "198.51.100.1"
    assert throttling_key("testclient") == "testclient"

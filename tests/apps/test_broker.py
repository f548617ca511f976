"""The tunnel broker without a network: its SQLite allocations (persistent, never doubled
under concurrent requests, freed by a release), its HTTP API and page through aiohttp's
test client, its validation, and what it asks the tunnel server (a recording stand-in
for the control socket; the namespaces test drives a real one)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable
from ipaddress import IPv4Address, IPv6Network
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from tcpip6.apps.broker import Broker, check_ipv4, make_app
from tcpip6.apps.broker_db import AlreadyAllocated, BrokerDb, Pool, PoolExhausted
from tcpip6.apps.tunnel_slots import TunnelSlots

SERVER = IPv4Address("192.0.2.1")
POOL = IPv6Network("2001:db8:100::/48")


class Recorder:
    """The tunnel server's control socket, as far as the broker can tell."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.refuse = False
        self.lock = threading.Lock()

    def __call__(self, obj: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            self.requests.append(obj)
        if self.refuse:
            return {"error": "cannot use 192.0.2.1 for a tunnel"}
        return {"tunnel": obj["tunnel"]}

    def names(self, op: str) -> list[str]:
        return [r["tunnel"]["name"] for r in self.requests if r["tunnel"]["op"] == op]


def db_at(path: Path, size: int = 64) -> BrokerDb:
    return BrokerDb(path, Pool(POOL, size))


def test_allocations_persist_and_releases_free_the_prefix(tmp_path: Path) -> None:
    path = tmp_path / "b.sqlite"
    db = db_at(path)
    a = db.allocate(IPv4Address("10.0.0.2"))
    b = db.allocate(IPv4Address("10.0.0.3"))
    assert (a.slot, b.slot) == (1, 2)
    assert db.pool.network(1) == IPv6Network("2001:db8:100:1::/64")
    with pytest.raises(AlreadyAllocated):
        db.allocate(IPv4Address("10.0.0.2"))
    again = db_at(path)  # a restart: the same file
    assert [(r.id, r.slot, str(r.client_ipv4)) for r in again.all()] == [
        (a.id, 1, "10.0.0.2"),
        (b.id, 2, "10.0.0.3"),
    ]
    assert again.release(a.id) == a and again.release(a.id) is None
    c = again.allocate(IPv4Address("10.0.0.4"))
    assert c.slot == 1 and c.id != a.id  # the freed /64 is the lowest free one


def test_the_pool_runs_out(tmp_path: Path) -> None:
    db = db_at(tmp_path / "b.sqlite", size=2)
    db.allocate(IPv4Address("10.0.0.2"))
    db.allocate(IPv4Address("10.0.0.3"))
    with pytest.raises(PoolExhausted):
        db.allocate(IPv4Address("10.0.0.4"))


def test_concurrent_allocations_in_threads_never_share_a_prefix(tmp_path: Path) -> None:
    path = tmp_path / "b.sqlite"
    db_at(path)
    slots: list[int] = []
    errors: list[BaseException] = []
    start = threading.Barrier(24)

    def take(n: int) -> None:
        db = db_at(path)  # a connection of its own, as another process would have
        start.wait()
        try:
            slots.append(db.allocate(IPv4Address(f"10.1.0.{n + 1}")).slot)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=take, args=(n,)) for n in range(24)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert sorted(slots) == list(range(1, 25))


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("nonsense", "not an IPv4 address"),
        ("224.0.0.1", "not a unicast"),
        ("0.0.0.0", "not a unicast"),
        ("127.0.0.1", "not a unicast"),
        ("169.254.1.1", "not a unicast"),
        ("255.255.255.255", "not a unicast"),
        ("240.0.0.1", "not a unicast"),
        ("192.0.2.1", "the tunnel server's own"),
    ],
)
def test_check_ipv4_refuses(text: str, why: str) -> None:
    with pytest.raises(ValueError, match=why):
        check_ipv4(text, SERVER)


def with_client(
    tmp_path: Path, body: Callable[[TestClient[Any, Any], Recorder], Awaitable[None]]
) -> Recorder:
    recorder = Recorder()
    broker = Broker(db_at(tmp_path / "b.sqlite"), recorder, SERVER)

    async def main() -> None:
        async with TestClient(TestServer(make_app(broker))) as client:
            await body(client, recorder)

    asyncio.run(main())
    return recorder


def test_the_api_allocates_configures_and_releases(tmp_path: Path) -> None:
    async def body(client: TestClient[Any, Any], rec: Recorder) -> None:
        r = await client.post("/api/tunnels", json={"ipv4": "198.51.100.7"})
        assert r.status == 201
        t = await r.json()
        assert t["prefix"] == "2001:db8:100:1::/64"
        assert t["client_address"] == "2001:db8:100:1::2/64"
        assert t["server_address"] == "2001:db8:100:1::1"
        assert t["command"] == (
            "tcpip6 host --link tunnel:configured:198.51.100.7:192.0.2.1 "
            "--address tun0=2001:db8:100:1::2/64"
        )
        assert rec.requests[-1] == {
            "tunnel": {
                "op": "add",
                "name": "tb1",
                "local": "192.0.2.1",
                "remote": "198.51.100.7",
                "address": "2001:db8:100:1::1/64",
            }
        }
        r = await client.post("/api/tunnels", json={"ipv4": "198.51.100.7"})
        assert r.status == 409 and (await r.json())["tunnel"]["id"] == t["id"]
        assert (await (await client.get(f"/api/tunnels/{t['id']}")).json()) == t
        listed = await (await client.get("/api/tunnels")).json()
        assert listed == {"tunnels": [t]}
        r = await client.delete(f"/api/tunnels/{t['id']}")
        assert r.status == 200 and (await r.json())["released"]["prefix"] == t["prefix"]
        assert rec.requests[-1] == {"tunnel": {"op": "del", "name": "tb1"}}
        assert (await client.get(f"/api/tunnels/{t['id']}")).status == 404
        assert (await client.delete(f"/api/tunnels/{t['id']}")).status == 404
        r = await client.post("/api/tunnels", json={"ipv4": "198.51.100.8"})
        assert (await r.json())["prefix"] == "2001:db8:100:1::/64"  # free again

    with_client(tmp_path, body)


def test_the_api_validates(tmp_path: Path) -> None:
    async def body(client: TestClient[Any, Any], rec: Recorder) -> None:
        for payload in ({"ipv4": "1.2.3"}, {"ipv4": "224.1.1.1"}, {"ipv4": "x", "more": 1}, [1]):
            r = await client.post("/api/tunnels", json=payload)
            assert r.status == 400, payload
            assert "error" in await r.json()
        r = await client.post("/api/tunnels", data=b"{not json", headers={"Content-Type":
                              "application/json"})  # fmt: skip
        assert r.status == 400
        r = await client.post("/api/tunnels", json={"ipv4": "10.0.0.2", "pad": "x" * 5000})
        assert r.status == 413
        # Without an address: the request's own source (here 127.0.0.1: refused).
        r = await client.post("/api/tunnels", json={})
        assert r.status == 400 and "127.0.0.1" in (await r.json())["error"]
        assert (await client.get("/api/tunnels/abc")).status == 404
        rec.refuse = True
        r = await client.post("/api/tunnels", json={"ipv4": "10.0.0.9"})
        assert r.status == 502
        rec.refuse = False
        assert (await (await client.get("/api/tunnels")).json()) == {"tunnels": []}

    rec = with_client(tmp_path, body)
    assert rec.names("add") == ["tb1"]  # only the refused one reached the tunnel server


def test_concurrent_http_requests_get_distinct_prefixes(tmp_path: Path) -> None:
    n = 30

    async def body(client: TestClient[Any, Any], rec: Recorder) -> None:
        answers = await asyncio.gather(
            *(client.post("/api/tunnels", json={"ipv4": f"10.2.0.{i + 1}"}) for i in range(n))
        )
        assert [a.status for a in answers] == [201] * n
        prefixes = {(await a.json())["prefix"] for a in answers}
        assert len(prefixes) == n
        # The same address asked for twice at once: one tunnel, one 409.
        twice = await asyncio.gather(
            *(client.post("/api/tunnels", json={"ipv4": "10.3.0.1"}) for _ in range(2))
        )
        assert sorted(a.status for a in twice) == [201, 409]

    rec = with_client(tmp_path, body)
    assert sorted(rec.names("add")) == sorted(f"tb{i}" for i in range(1, n + 2))


def test_the_page_and_its_form(tmp_path: Path) -> None:
    async def body(client: TestClient[Any, Any], rec: Recorder) -> None:
        r = await client.post("/tunnels", data={"ipv4": "203.0.113.9"}, allow_redirects=False)
        assert r.status == 303 and r.headers["Location"] == "/?id=1"
        text = await (await client.get("/?id=1")).text()
        assert "2001:db8:100:1::/64" in text and "203.0.113.9" in text
        assert "tcpip6 host --link tunnel:configured:203.0.113.9:192.0.2.1" in text
        r = await client.post("/tunnels", data={"ipv4": "<script>"}, allow_redirects=False)
        assert r.status == 400 and "<script>" not in await r.text()
        r = await client.post("/release/1", allow_redirects=False)
        assert r.status == 303
        assert "none yet" in await (await client.get("/")).text()

    with_client(tmp_path, body)


def test_a_restarted_broker_configures_the_tunnel_server_again(tmp_path: Path) -> None:
    db = db_at(tmp_path / "b.sqlite")
    first = Broker(db, Recorder(), SERVER)
    first.allocate(IPv4Address("10.0.0.2"))
    first.allocate(IPv4Address("10.0.0.3"))
    rec = Recorder()
    assert Broker(db_at(tmp_path / "b.sqlite"), rec, SERVER).restore() == 2
    assert rec.names("add") == ["tb1", "tb2"]


def test_tunnel_requests_are_checked_before_any_socket() -> None:
    from tcpip6.io.runtime import LiveDriver
    from tcpip6.stack.host import Host

    host = Host(name="ts")
    driver = LiveDriver([host])
    slots = TunnelSlots(host, driver, print)
    for req, why in (
        ("x", "an object"),
        ({"op": "add", "name": "Bad Name"}, "name:"),
        ({"op": "add", "name": "tb1", "local": "10.0.0.1", "remote": "nope"}, "tb1:"),
        ({"op": "add", "name": "tb1", "local": "10.0.0.1", "remote": "224.0.0.1",
          "address": "2001:db8::1/64"}, "not a usable"),
        ({"op": "add", "name": "tb1", "local": "10.0.0.1", "remote": "10.0.0.2",
          "address": "fe80::1/64"}, "not a global"),
        ({"op": "del", "name": "tb9"}, "no tunnel tb9"),
        ({"op": "frob", "name": "tb9"}, "add, del or list"),
    ):  # fmt: skip
        with pytest.raises(ValueError, match=why):
            slots.request(req)
    assert slots.request({"op": "list"}) == {"tunnels": []}
    driver.close()

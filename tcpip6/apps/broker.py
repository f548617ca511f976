"""``tcpip6 broker``: an IPv6 tunnel broker (RFC 3053) for tcpip6 tunnel servers.

A user with an IPv4 address asks for a tunnel (the page's form, or ``POST /api/tunnels``);
the broker (RFC 3053 §3.1, the "TB") allocates a /64 of its pool in its database
(:mod:`tcpip6.apps.broker_db`, SQLite), configures the tunnel server (RFC 3053 §3.2, the "TS": a
running ``tcpip6 host``) through its control socket with an RFC 4213 configured tunnel to
the user's IPv4 address carrying the /64 (:mod:`tcpip6.apps.tunnel_slots`), and answers
with what the user's end needs (RFC 3053 §3.1: "the TB ... sends the configuration information
to the user"): the ``tcpip6 host --link tunnel:configured:...`` line, which ``tcpip6
broker request URL --run`` runs at once.

The web side is aiohttp; database calls and control-socket calls run in threads so the
event loop never waits on them. Requests are validated (an IPv4 unicast address, a body of
at most :data:`MAX_BODY` octets, JSON or a form) and answered with JSON errors (400, 404,
409 one tunnel per IPv4 address, 503 the pool is full, 502 the tunnel server refused).
When the broker starts, it configures the tunnel server again with every allocation its
database holds, so a restart of either keeps the tunnels.

``GET /`` the page; ``GET /api/tunnels`` all; ``POST /api/tunnels`` ``{"ipv4": A}`` (the
request's own IPv4 source when absent); ``GET /api/tunnels/ID``; ``DELETE
/api/tunnels/ID`` releases it (the /64 is free again); ``POST /release/ID`` from the page.
"""

from __future__ import annotations

import argparse
import asyncio
import html
import json
import os
import sys
import urllib.error
import urllib.request
from collections.abc import Callable
from ipaddress import IPv4Address, IPv6Network
from pathlib import Path
from typing import Any

from aiohttp import web

from tcpip6.apps.broker_db import Allocation, AlreadyAllocated, BrokerDb, Pool, PoolExhausted
from tcpip6.apps.command import Subparsers
from tcpip6.io.control import ControlError, request

MAX_BODY = 4096
DEFAULT_POOL = "2001:db8:100::/48"
DEFAULT_PORT = 8080
#: The interface name of the user's tunnel in ``tcpip6 host`` (its first tunnel).
CLIENT_IFNAME = "tun0"

#: ``control(request) -> answer``: the tunnel server's control socket.
Control = Callable[[dict[str, Any]], dict[str, Any]]


class TunnelServerError(Exception):
    pass


def control_socket(path: Path) -> Control:
    def ask(obj: dict[str, Any]) -> dict[str, Any]:
        try:
            return request(path, obj)
        except ControlError as exc:
            raise TunnelServerError(str(exc)) from None

    return ask


def check_ipv4(text: object, server: IPv4Address) -> IPv4Address:
    """The user's IPv4 address: a unicast address a tunnel can reach (ValueError)."""
    try:
        address = IPv4Address(str(text).strip())
    except ValueError:
        raise ValueError(f"{str(text)[:40]!r} is not an IPv4 address") from None
    bad = (
        address.is_multicast
        or address.is_unspecified
        or address.is_loopback
        or address.is_link_local
        or address.is_reserved
        or address == IPv4Address("255.255.255.255")
    )
    if bad:
        raise ValueError(f"{address} is not a unicast address a tunnel can reach")
    if address == server:
        raise ValueError(f"{address} is the tunnel server's own address")
    return address


class Broker:
    def __init__(self, db: BrokerDb, control: Control, server_ipv4: IPv4Address) -> None:
        self.db = db
        self.control = control
        self.server_ipv4 = server_ipv4

    def describe(self, a: Allocation) -> dict[str, Any]:
        pool = self.db.pool
        client = f"{pool.client_address(a.slot)}/64"
        command = (
            f"tcpip6 host --link tunnel:configured:{a.client_ipv4}:{self.server_ipv4} "
            f"--address {CLIENT_IFNAME}={client}"
        )
        return {
            "id": a.id,
            "client_ipv4": str(a.client_ipv4),
            "server_ipv4": str(self.server_ipv4),
            "prefix": str(pool.network(a.slot)),
            "client_address": client,
            "server_address": str(pool.server_address(a.slot)),
            "interface": f"tb{a.slot}",
            "created": a.created,
            "command": command,
        }

    def _configure(self, a: Allocation) -> None:
        answer = self.control(
            {
                "tunnel": {
                    "op": "add",
                    "name": f"tb{a.slot}",
                    "local": str(self.server_ipv4),
                    "remote": str(a.client_ipv4),
                    "address": f"{self.db.pool.server_address(a.slot)}/64",
                }
            }
        )
        if "error" in answer:
            raise TunnelServerError(str(answer["error"]))

    def allocate(self, client: IPv4Address) -> dict[str, Any]:
        record = self.db.allocate(client)
        try:
            self._configure(record)
        except TunnelServerError:
            self.db.release(record.id)
            raise
        return self.describe(record)

    def release(self, tunnel_id: int) -> dict[str, Any] | None:
        record = self.db.get(tunnel_id)
        if record is None:
            return None
        answer = self.control({"tunnel": {"op": "del", "name": f"tb{record.slot}"}})
        if "error" in answer and "no tunnel" not in str(answer["error"]):
            raise TunnelServerError(str(answer["error"]))
        self.db.release(tunnel_id)
        return self.describe(record)

    def restore(self) -> int:
        """Configure the tunnel server with every allocation (after a restart)."""
        restored = 0
        for record in self.db.all():
            try:
                self._configure(record)
                restored += 1
            except TunnelServerError as exc:
                if "exists" not in str(exc):
                    raise
        return restored


# -- the web service -------------------------------------------------------------------------
def _error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)


async def _read_ipv4(req: web.Request) -> str | None:
    if req.content_type == "application/json":
        try:
            body = await req.json()
        except ValueError:
            raise ValueError("the body is not JSON") from None
        if not isinstance(body, dict) or set(body) - {"ipv4"}:
            raise ValueError('expected {"ipv4": "A.B.C.D"}')
        value = body.get("ipv4")
        return None if value is None else str(value)
    form = await req.post()
    value = form.get("ipv4")
    return str(value) if isinstance(value, str) and value.strip() else None


def _peer_ipv4(req: web.Request) -> str:
    peer = req.remote or ""
    if peer.startswith("::ffff:"):
        peer = peer[7:]
    return peer


BROKER: web.AppKey[Broker] = web.AppKey("broker", Broker)


async def api_list(req: web.Request) -> web.Response:
    broker = req.app[BROKER]
    records = await asyncio.to_thread(broker.db.all)
    return web.json_response({"tunnels": [broker.describe(r) for r in records]})


async def _allocate(req: web.Request) -> tuple[int, dict[str, Any]]:
    broker = req.app[BROKER]
    try:
        text = await _read_ipv4(req)
        client = check_ipv4(text if text is not None else _peer_ipv4(req), broker.server_ipv4)
    except ValueError as exc:
        return 400, {"error": str(exc)}
    try:
        return 201, await asyncio.to_thread(broker.allocate, client)
    except AlreadyAllocated as exc:
        return 409, {"error": str(exc), "tunnel": broker.describe(exc.record)}
    except PoolExhausted as exc:
        return 503, {"error": str(exc)}
    except TunnelServerError as exc:
        return 502, {"error": f"the tunnel server refused: {exc}"}


async def api_create(req: web.Request) -> web.Response:
    status, body = await _allocate(req)
    return web.json_response(body, status=status)


def _tunnel_id(req: web.Request) -> int | None:
    text = req.match_info["id"]
    return int(text) if text.isdigit() and len(text) < 10 else None


async def api_get(req: web.Request) -> web.Response:
    broker = req.app[BROKER]
    tunnel_id = _tunnel_id(req)
    record = None if tunnel_id is None else await asyncio.to_thread(broker.db.get, tunnel_id)
    if record is None:
        return _error(404, "no such tunnel")
    return web.json_response(broker.describe(record))


async def _release(req: web.Request) -> tuple[int, dict[str, Any]]:
    broker = req.app[BROKER]
    tunnel_id = _tunnel_id(req)
    if tunnel_id is None:
        return 404, {"error": "no such tunnel"}
    try:
        released = await asyncio.to_thread(broker.release, tunnel_id)
    except TunnelServerError as exc:
        return 502, {"error": f"the tunnel server refused: {exc}"}
    if released is None:
        return 404, {"error": "no such tunnel"}
    return 200, {"released": released}


async def api_delete(req: web.Request) -> web.Response:
    status, body = await _release(req)
    return web.json_response(body, status=status)


async def page(req: web.Request) -> web.Response:
    broker = req.app[BROKER]
    records = await asyncio.to_thread(broker.db.all)
    return _page(broker, records, req.query.get("msg", ""), req.query.get("id"))


async def page_create(req: web.Request) -> web.Response:
    status, body = await _allocate(req)
    if status == 201:
        raise web.HTTPSeeOther(f"/?id={body['id']}")
    broker = req.app[BROKER]
    records = await asyncio.to_thread(broker.db.all)
    return _page(broker, records, str(body.get("error", "")), None, status)


async def page_release(req: web.Request) -> web.Response:
    status, body = await _release(req)
    message = f"tunnel {req.match_info['id']} released" if status == 200 else body["error"]
    raise web.HTTPSeeOther(f"/?msg={html.escape(message)}")


STYLE = """
body { font-family: sans-serif; margin: 2em auto; max-width: 62em; color: #222; }
h1 { font-size: 1.6em; } table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: .35em .6em; border-bottom: 1px solid #ccc; }
th { background: #eef2f7; } code { background: #f4f4f4; padding: .1em .3em; }
.mine { background: #fff6d5; } .box { border: 1px solid #9bb; padding: .8em 1em;
  margin: 1em 0; background: #f3fbfb; } .err { color: #a00; }
"""


def _page(
    broker: Broker, records: list[Allocation], message: str, mine: str | None, status: int = 200
) -> web.Response:
    e = html.escape
    pool = broker.db.pool
    rows = []
    yours = ""
    for r in records:
        d = broker.describe(r)
        cls = ' class="mine"' if mine == str(r.id) else ""
        rows.append(
            f"<tr{cls}><td>{r.id}</td><td>{e(d['client_ipv4'])}</td><td>{e(d['prefix'])}</td>"
            f"<td>{e(d['client_address'])}</td><td>{e(d['server_address'])}</td>"
            f"<td>{e(d['interface'])}</td><td>{e(d['created'])}</td>"
            f'<td><form method="post" action="/release/{r.id}">'
            '<button type="submit">release</button></form></td></tr>'
        )
        if mine == str(r.id):
            yours = (
                f'<div class="box"><b>Your tunnel {r.id}</b>: {e(d["prefix"])} to '
                f"{e(d['client_ipv4'])}. Bring it up with:<br><code>{e(d['command'])}</code>"
                f"<br>and ping the tunnel server at <code>{e(d['server_address'])}</code>.</div>"
            )
    note = f'<p class="err">{e(message)}</p>' if message else ""
    body = f"""<!doctype html>
<html><head><meta charset="utf-8"><title>tcpip6 tunnel broker</title>
<style>{STYLE}</style></head><body>
<h1>tcpip6 tunnel broker (RFC 3053)</h1>
<p>IPv6 over your IPv4 (RFC 4213 configured tunnels) from the tunnel server at
<b>{e(str(broker.server_ipv4))}</b>: each tunnel gets a /64 of <b>{e(str(pool.prefix))}</b>
({len(records)} of {pool.size} allocated).</p>
{note}{yours}
<form method="post" action="/tunnels">
<label>Your IPv4 address <input name="ipv4" placeholder="blank: the address you come from"
 size="28"></label> <button type="submit">Ask for a tunnel</button></form>
<h2>Tunnels</h2>
<table><tr><th>#</th><th>IPv4 end</th><th>/64</th><th>your address</th>
<th>server end</th><th>interface</th><th>since (UTC)</th><th></th></tr>
{"".join(rows) or '<tr><td colspan="8">none yet</td></tr>'}
</table>
<p>JSON: <code>GET /api/tunnels</code>, <code>POST /api/tunnels {{"ipv4": "A.B.C.D"}}</code>,
<code>DELETE /api/tunnels/ID</code>.</p>
</body></html>
"""
    return web.Response(text=body, content_type="text/html", status=status)


def make_app(broker: Broker) -> web.Application:
    app = web.Application(client_max_size=MAX_BODY)
    app[BROKER] = broker
    app.add_routes(
        [
            web.get("/", page),
            web.post("/tunnels", page_create),
            web.post("/release/{id}", page_release),
            web.get("/api/tunnels", api_list),
            web.post("/api/tunnels", api_create),
            web.get("/api/tunnels/{id}", api_get),
            web.delete("/api/tunnels/{id}", api_delete),
        ]
    )
    return app


# -- the command line --------------------------------------------------------------------------
def add_parser(sub: Subparsers) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "broker",
        help="an IPv6 tunnel broker (RFC 3053) for tcpip6 tunnel servers, and its client",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    verbs = p.add_subparsers(dest="verb", metavar="VERB")
    serve = verbs.add_parser("serve", help="run the broker (a web page and a JSON API)")
    serve.add_argument("--listen", default=f"127.0.0.1:{DEFAULT_PORT}", help="HOST:PORT")
    serve.add_argument("--control", required=True, help="the tunnel server's control socket")
    serve.add_argument("--server-ipv4", required=True, help="the tunnel server's IPv4 address")
    serve.add_argument("--pool", default=DEFAULT_POOL, help=f"/64s from (default {DEFAULT_POOL})")
    serve.add_argument("--max-tunnels", type=int, default=256, help="at most (default 256)")
    serve.add_argument("--db", default="tcpip6-broker.sqlite", help="the SQLite database")
    ask = verbs.add_parser("request", help="ask a broker for a tunnel; print (or --run) the line")
    ask.add_argument("url", help="the broker, http://HOST:PORT")
    ask.add_argument("--ipv4", help="this end's IPv4 address (default: the one the broker sees)")
    ask.add_argument("--json", action="store_true", help="print the broker's JSON answer")
    ask.add_argument(
        "--run", nargs=argparse.REMAINDER, dest="run_line", metavar="HOST-ARGS",
        help="run the tcpip6 host line "
        "(with any further arguments for it, e.g. --control PATH)"
    )  # fmt: skip
    rel = verbs.add_parser("release", help="release a tunnel")
    rel.add_argument("url", help="the broker, http://HOST:PORT")
    rel.add_argument("id", type=int, help="the tunnel's number")
    p.set_defaults(run=run)
    return p


def run(args: argparse.Namespace) -> int:
    from tcpip6.apps.command import CliError

    try:
        if args.verb == "serve":
            return _serve(args)
        if args.verb == "request":
            return _request(args)
        if args.verb == "release":
            answer = _http("DELETE", f"{args.url.rstrip('/')}/api/tunnels/{args.id}", None)
            print(f"released tunnel {args.id}: {answer['released']['prefix']}")
            return 0
    except (ValueError, OSError) as exc:
        raise CliError(str(exc), 2 if isinstance(exc, ValueError) else 1) from None
    raise CliError("say serve, request or release", 2)


def _serve(args: argparse.Namespace) -> int:
    host, _, port = args.listen.rpartition(":")
    if not host or not port.isdigit():
        raise ValueError(f"--listen {args.listen}: HOST:PORT")
    pool = Pool(IPv6Network(args.pool), args.max_tunnels)
    server_ipv4 = IPv4Address(args.server_ipv4)
    broker = Broker(BrokerDb(args.db, pool), control_socket(Path(args.control)), server_ipv4)
    try:
        restored = broker.restore()
    except TunnelServerError as exc:
        raise OSError(f"the tunnel server: {exc}") from None
    print(f"broker at http://{args.listen}/ for tunnel server {server_ipv4}, pool {pool.prefix}"
          f", {restored} tunnels restored from {args.db}", flush=True)  # fmt: skip
    web.run_app(make_app(broker), host=host.strip("[]"), port=int(port), print=None)
    return 0


def _http(method: str, url: str, body: dict[str, Any] | None) -> dict[str, Any]:
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method)
    req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            answer: dict[str, Any] = json.loads(resp.read(1 << 20))
            return answer
    except urllib.error.HTTPError as exc:
        try:
            message = json.loads(exc.read(1 << 16)).get("error", exc.reason)
        except ValueError:
            message = exc.reason
        raise OSError(f"{url}: {exc.code} {message}") from None
    except urllib.error.URLError as exc:
        raise OSError(f"{url}: {exc.reason}") from None


def _request(args: argparse.Namespace) -> int:
    body = {"ipv4": args.ipv4} if args.ipv4 else {}
    answer = _http("POST", f"{args.url.rstrip('/')}/api/tunnels", body)
    if args.json:
        print(json.dumps(answer, indent=2))
    else:
        a = answer
        print(f"tunnel {a['id']}: {a['prefix']} over {a['client_ipv4']} -> {a['server_ipv4']}; "
              f"the tunnel server is {a['server_address']}")  # fmt: skip
        print(answer["command"])
    if args.run_line is None:
        return 0
    sys.stdout.flush()
    argv = [sys.executable, "-m", "tcpip6", *answer["command"].split()[1:], *args.run_line]
    os.execv(sys.executable, argv)
    return 1  # not reached


__all__ = ["Broker", "add_parser", "check_ipv4", "make_app", "run"]

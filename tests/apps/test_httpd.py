"""The HTTP/1.1 file server on b, fetched from a over simnet's TCP: files byte for byte,
HEAD, keep-alive and pipelining, HTTP/1.0 answered in HTTP/1.0 and closed at once, idle
connections closed after the idle timeout, the refusals (400, 404, 405, 414, 431), and the
command lines (tcpip6 httpd, tcpip6 host --serve http=DIR)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tcpip6.api.sockets import AF_INET6, SOCK_STREAM
from tcpip6.apps.host import HostConfigError, build_config, config_from
from tcpip6.apps.httpd import DEMO_FILE, DEMO_SIZE, Httpd, demo_root, fetch, parse_response
from tcpip6.apps.topology import Topology


@pytest.fixture
def served(demo: Topology, tmp_path: Path) -> Iterator[tuple[Topology, Httpd, Path]]:
    (tmp_path / "www").mkdir()
    root = demo_root(tmp_path / "www")
    (root / "docs").mkdir()
    (root / "docs" / "index.html").write_text("<p>docs</p>\n")
    (root / "empty").write_bytes(b"")
    (tmp_path / "secret").write_text("not for the web\n")
    (root / "out").symlink_to(tmp_path / "secret")
    httpd = Httpd(demo.stack("b"), root)
    yield demo, httpd, root
    httpd.close()


def get(topo: Topology, path: str, method: str = "GET") -> tuple[int, dict[str, str], bytes]:
    r = fetch(topo.stack("a"), topo.resolve("b"), path, method=method)
    return r.status, r.headers, r.body


def raw(topo: Topology, request: bytes, limit: int = 1 << 20) -> bytes:
    """Send ``request`` as it is and read until the server closes."""
    with topo.stack("a").socket(AF_INET6, SOCK_STREAM) as sock:
        sock.settimeout(10)
        sock.connect((topo.resolve("b"), 80))
        sock.sendall(request)
        data = bytearray()
        while len(data) < limit and (chunk := sock.recv(65536)):
            data += chunk
        return bytes(data)


def test_http_1_0_gets_an_http_1_0_response_and_the_close_right_after_it(
    served: tuple[Topology, Httpd, Path],
) -> None:
    """RFC 9112 §9.3: without keep-alive an HTTP/1.0 connection ends with the response; the
    server's FIN follows the body at once (no wait for the client's delayed ACK)."""
    topo, _, root = served
    index = (root / "index.html").read_bytes()
    driver = topo.driver
    with topo.stack("a").socket(AF_INET6, SOCK_STREAM) as sock:
        sock.settimeout(10)
        sock.connect((topo.resolve("b"), 80))
        start = driver.now
        sock.sendall(b"GET / HTTP/1.0\r\nUser-Agent: test\r\n\r\n")
        data = bytearray()
        while chunk := sock.recv(65536):
            data += chunk
        took = driver.now - start
    assert data.startswith(b"HTTP/1.0 200 OK\r\n")
    response = parse_response(bytes(data))
    assert response.headers["connection"] == "close" and response.body == index
    # Two one-way trips and the processing: far below a delayed ACK (200 ms here).
    assert took < 0.05, took
    # HTTP/1.0 with keep-alive: answered in HTTP/1.0, and the connection serves another.
    keep = b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"
    data = raw(topo, keep + b"GET /docs/ HTTP/1.0\r\n\r\n")
    first, second = data.split(b"HTTP/1.0 200 OK\r\n")[1:]
    assert b"Connection: keep-alive" in first and first.endswith(index)
    assert b"Connection: close" in second and second.endswith(b"<p>docs</p>\n")


def test_an_idle_keep_alive_connection_is_closed_after_the_idle_timeout(
    demo: Topology, tmp_path: Path
) -> None:
    root = demo_root(tmp_path)
    httpd = Httpd(demo.stack("b"), root, idle_timeout=5.0)
    world = demo.world
    world.add_node(httpd)  # its idle timer, as the live host's driver runs it
    httpd.wake = lambda: world.touch(httpd)
    try:
        with demo.stack("a").socket(AF_INET6, SOCK_STREAM) as sock:
            sock.settimeout(60)
            sock.connect((demo.resolve("b"), 80))
            request = b"GET / HTTP/1.1\r\nHost: b\r\n\r\n"
            # A client that asks every 3 s is served on one connection...
            for _ in range(3):
                sock.sendall(request)
                data = sock.recv(65536)
                assert data.startswith(b"HTTP/1.1 200 OK") and b"keep-alive" in data
                demo.driver.run_for(3.0)
            assert httpd.counters.idle_closed == 0
            # ...one that goes quiet is closed once the idle timeout has passed.
            start = demo.driver.now
            assert sock.recv(100) == b""
            assert 1.9 <= demo.driver.now - start <= 2.1  # 5 s after the last response
        assert httpd.counters.idle_closed == 1
        assert httpd.server.accepted == 1 and httpd.counters.requests == 3
        # A connection that never sends a request is closed the same way.
        with demo.stack("a").socket(AF_INET6, SOCK_STREAM) as sock:
            sock.settimeout(60)
            sock.connect((demo.resolve("b"), 80))
            start = demo.driver.now
            assert sock.recv(100) == b""
            assert 4.9 <= demo.driver.now - start <= 5.1
        assert httpd.counters.idle_closed == 2 and httpd.next_deadline() is None
    finally:
        httpd.close()


def test_a_file_spanning_many_windows_arrives_byte_for_byte(
    served: tuple[Topology, Httpd, Path],
) -> None:
    topo, httpd, root = served
    status, headers, body = get(topo, "/" + DEMO_FILE)
    assert status == 200 and len(body) == DEMO_SIZE
    assert body == (root / DEMO_FILE).read_bytes()
    assert headers["content-length"] == str(DEMO_SIZE)
    assert headers["content-type"] == "application/octet-stream"
    assert headers["connection"] == "close"  # the client asked for it
    assert httpd.counters.body_octets == DEMO_SIZE
    assert topo.hosts["b"].tcp.counters.out_octets > DEMO_SIZE


def test_index_html_head_and_empty_files(served: tuple[Topology, Httpd, Path]) -> None:
    topo, _, root = served
    status, headers, body = get(topo, "/")
    assert (status, body) == (200, (root / "index.html").read_bytes())
    assert headers["content-type"] == "text/html"
    assert get(topo, "/docs/")[2] == b"<p>docs</p>\n"
    assert get(topo, "/docs")[2] == b"<p>docs</p>\n"
    status, headers, body = get(topo, "/" + DEMO_FILE, method="HEAD")
    assert (status, body, headers["content-length"]) == (200, b"", str(DEMO_SIZE))
    assert get(topo, "/empty")[:3:2] == (200, b"")
    assert get(topo, "/%74cpip6.bin")[0] == 200  # percent-decoded


def test_keep_alive_and_pipelined_requests(served: tuple[Topology, Httpd, Path]) -> None:
    topo, httpd, root = served
    one = b"GET /index.html HTTP/1.1\r\nHost: b\r\n\r\n"
    last = b"GET /docs/ HTTP/1.1\r\nHost: b\r\nConnection: close\r\n\r\n"
    data = raw(topo, one + one + last)
    index = (root / "index.html").read_bytes()
    parts = data.split(b"HTTP/1.1 200 OK\r\n")
    assert len(parts) == 4 and parts[0] == b""
    assert parts[1].count(b"Connection: keep-alive") == 1 and parts[1].endswith(index)
    assert parts[3].endswith(b"<p>docs</p>\n") and b"Connection: close" in parts[3]
    assert httpd.server.accepted == 1 and httpd.counters.requests == 3
    # HTTP/1.0 closes unless asked to keep the connection.
    data = raw(topo, b"GET / HTTP/1.0\r\n\r\n")
    assert b"Connection: close" in data and data.endswith(index)


@pytest.mark.parametrize(
    ("request_line", "status"),
    [
        (b"GET /nothing HTTP/1.1", 404),
        (b"GET /../secret HTTP/1.1", 400),
        (b"GET /docs/../../secret HTTP/1.1", 400),
        (b"GET /%2e%2e/secret HTTP/1.1", 400),
        (b"GET /out HTTP/1.1", 400),  # a symbolic link out of the root
        (b"GET secret HTTP/1.1", 400),  # not an absolute path
        (b"GET //etc/passwd HTTP/1.1", 404),  # stays under the root
        (b"POST / HTTP/1.1", 405),
        (b"DELETE /index.html HTTP/1.1", 405),
        (b"GET / HTTP/2.0", 400),
        (b"GET /  HTTP/1.1", 400),
        (b"GET /" + b"a" * 3000 + b" HTTP/1.1", 414),
    ],
)
def test_refusals(served: tuple[Topology, Httpd, Path], request_line: bytes, status: int) -> None:
    topo, _, _ = served
    data = raw(topo, request_line + b"\r\nHost: b\r\nConnection: close\r\n\r\n")
    response = parse_response(data)
    assert response.status == status
    assert b"not for the web" not in response.body
    if status == 405:
        assert response.headers["allow"] == "GET, HEAD"


def test_bounded_requests(served: tuple[Topology, Httpd, Path]) -> None:
    topo, httpd, _ = served
    data = raw(topo, b"GET / HTTP/1.1\r\nHost: b\r\nX-Filler: " + b"y" * 20000 + b"\r\n\r\n")
    assert parse_response(data).status == 431
    data = raw(topo, b"GET / HTTP/1.1\r\n\r\n")  # HTTP/1.1 without Host
    assert parse_response(data).status == 400
    data = raw(topo, b"GET / HTTP/1.1\r\nHost b\r\n\r\n")
    assert parse_response(data).status == 400
    assert httpd.counters.responses == {431: 1, 400: 2}


def test_the_command_line(tmp_path: Path) -> None:
    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "tcpip6", *args], capture_output=True, text=True, timeout=60
        )

    done = run("httpd", "--sim", "demo")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[1].startswith("GET http://[2001:db8:1::") and lines[1].endswith("]/tcpip6.bin")
    assert lines[2] == "HTTP/1.1 200 OK"
    assert "  Content-Length: 307200" in lines
    assert lines[-1].startswith("byte for byte the file on disk (sha256 ")
    (tmp_path / "a.txt").write_text("hello\n")
    done = run("httpd", "--sim", "demo", "c", "/a.txt", "--root", str(tmp_path))
    assert done.returncode == 0, done.stderr
    assert "6 octets in" in done.stdout
    done = run("httpd", "--sim", "demo", "b", "/missing", "--root", str(tmp_path))
    assert done.returncode == 1 and "HTTP/1.1 404 Not Found" in done.stdout
    for args, message in (
        (("httpd", "--sim", "demo", "--root", str(tmp_path / "no")), "no such directory"),
        (("httpd", "--sim", "demo", "b", "x"), "x: a path starts with /"),
        (("httpd", "--sim", "demo", "a"), "other than a"),
    ):
        done = run(*args)
        assert done.returncode == 2 and "Traceback" not in done.stderr
        assert done.stderr.count("\n") == 1 and message in done.stderr, done.stderr
    assert "tcpip6 host --serve http=DIR" in " ".join(run("httpd", "--help").stdout.split())


def test_host_serve_http(tmp_path: Path) -> None:
    config = build_config(links=["ethernet:eth1"], serve=["echo,http=" + str(tmp_path)])
    assert config.serve == ["echo"] and config.http_root == tmp_path
    with pytest.raises(HostConfigError, match="--serve http=/no/such: no such directory"):
        build_config(links=["ethernet:eth1"], serve=["http=/no/such"])
    conf = tmp_path / "h.toml"
    conf.write_text(f'links = ["ethernet:eth1"]\nserve = "discard,http={tmp_path}"\n')
    assert config_from({}, conf).http_root == tmp_path
    done = subprocess.run(
        [sys.executable, "-m", "tcpip6", "host", "--link", "ethernet:lo", "--serve", "http=/nx"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1
    assert done.stderr == "tcpip6 host: --serve http=/nx: no such directory\n"

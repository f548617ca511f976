"""The minimum RTO (RFC 6298 §2.4's 1 s) as a parameter: per socket with tcpip6's
TCP_MIN_RTO option, per host with ``tcpip6 host --tcp min_rto=...`` or the TOML file's
``tcp`` key. On a dead link the retransmissions come at the RTO the RFC 6298 model
computes with that bound, doubling (RFC 6298 §5.5)."""

from __future__ import annotations

import errno
from pathlib import Path

import pytest

from tcpip6.api import sockets as so
from tcpip6.api import stream as st
from tcpip6.apps.host import HostConfigError, build_config, config_from
from tcpip6.apps.tcp_settings import apply_tcp
from tcpip6.spec import rfc6298_rto as spec
from tcpip6.stack.tcp import TcpParameters
from tests.stack.conftest import Pair
from tests.stack.tcpscenario import connected, data_segments, rack_off, tcp_wire


def test_the_default_is_rfc_6298_s_second() -> None:
    assert TcpParameters().min_rto == spec.MIN_RTO == 1.0


def test_tcp_min_rto_per_socket_paces_the_retransmissions(pair: Pair) -> None:
    """RFC 6298's timings (RACK-TLP off: no tail loss probe before the first timeout)."""
    c = connected(pair, rack_off)
    assert c.client.getsockopt(st.IPPROTO_TCP, st.TCP_MIN_RTO) == 1000
    c.client.setsockopt(st.IPPROTO_TCP, st.TCP_MIN_RTO, 200)
    assert c.client.getsockopt(st.IPPROTO_TCP, st.TCP_MIN_RTO) == 200
    # One more RTT sample so the RTO is computed with the new bound.
    c.client.sendall(b"x")
    assert c.server.recv(10) == b"x"
    pair.world.run_for(1.0)  # the (delayed) ACK, and with it the sample
    rto = c.ca.rto
    assert rto.srtt is not None
    # The model, given the same last sample and bound, says 200 ms (RFC 6298 §2.4 moved).
    before = spec.Rto(srtt=rto.srtt, rttvar=rto.rttvar)
    assert spec.on_measurement(before, rto.srtt, granularity=0.001, min_rto=0.2).rto == 0.2
    assert rto.rto == 0.2
    wire = tcp_wire(pair.world)
    pair.world.segment("lan").impairments.loss = 1.0
    t0 = pair.world.now
    c.client.send(b"lost")
    pair.world.run_for(3.5)
    times = [round(s.t - t0, 3) for s in data_segments(wire, "a")]
    # RFC 6298 §5.5: RTO <- RTO * 2 after each timeout, from 0.2 s.
    assert times == [0.0, 0.2, 0.6, 1.4, 3.0]
    # Another socket of the host keeps the host's default.
    other = c.sa.socket(so.AF_INET6, so.SOCK_STREAM)
    assert other.getsockopt(st.IPPROTO_TCP, st.TCP_MIN_RTO) == 1000


@pytest.mark.parametrize("ms", [0, -5, 60_001])
def test_tcp_min_rto_out_of_range_is_einval(pair: Pair, ms: int) -> None:
    c = connected(pair)
    with pytest.raises(OSError) as exc:
        c.client.setsockopt(st.IPPROTO_TCP, st.TCP_MIN_RTO, ms)
    assert exc.value.errno == errno.EINVAL


def test_tcp_congestion_names_a_controller(pair: Pair) -> None:
    c = connected(pair)
    assert c.client.getsockopt(st.IPPROTO_TCP, st.TCP_CONGESTION) == b"reno"
    with pytest.raises(OSError) as exc:
        c.client.setsockopt(st.IPPROTO_TCP, st.TCP_CONGESTION, b"vegas\0")
    assert exc.value.errno == errno.ENOENT


def test_host_flag_and_toml_key(tmp_path: Path) -> None:
    config = build_config(links=["ethernet:eth1"], tcp=["min_rto=0.2", "prr=off"])
    assert config.tcp == {"min_rto": 0.2, "prr": False}
    toml = tmp_path / "h.toml"
    toml.write_text('links = ["ethernet:eth1"]\ntcp = ["min_rto=0.3"]\n')
    assert config_from({}, toml).tcp == {"min_rto": 0.3}
    # A flag overrides the file.
    assert config_from({"tcp": ["min_rto=0.2"]}, toml).tcp == {"min_rto": 0.2}
    params = TcpParameters()
    apply_tcp(params, config.tcp)
    assert (params.min_rto, params.prr) == (0.2, False)


@pytest.mark.parametrize(
    "text", ["min_rto=0", "min_rto=fast", "min_rto=61", "rto=1", "min_rto", "prr=maybe"]
)
def test_a_bad_tcp_setting_is_one_line(text: str) -> None:
    with pytest.raises(HostConfigError) as exc:
        build_config(links=["ethernet:eth1"], tcp=[text])
    assert "\n" not in str(exc.value)

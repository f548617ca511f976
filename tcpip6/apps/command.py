"""What every tool's command line shares: the one-line error, where a tool runs
(``--sim``, ``--loopback``, ``--control``), and the shape of a tool's subparser.

Each tool module has ``add_parser(subparsers)`` and ``run(args) -> int``;
:mod:`tcpip6.cli` lists the modules and dispatches.
"""

from __future__ import annotations

import argparse
import textwrap
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeAlias, TypeVar

from tcpip6.apps.options import Checked, build_options
from tcpip6.stack.machines.graph import TRACE_FORMATS

if TYPE_CHECKING:
    from tcpip6.api.sockets import Stack
    from tcpip6.apps.topology import Topology

#: What ``add_parser`` is given: ``ArgumentParser.add_subparsers()``'s action.
Subparsers: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"

T = TypeVar("T", bound=Checked)

#: Where to wrap descriptions (argparse's RawDescriptionHelpFormatter keeps them as given).
WIDTH = 88

BACKENDS = """where the tool runs (no root needed for either):
  --sim TOPOLOGY   a simulated network on a fake clock, booted first (15 simulated
                   seconds of DAD and SLAAC); the tool runs on its host a, and a
                   destination may be a host name of the topology:
                     demo   a, b on lan1 2001:db8:1::/64 -- router r -- c on lan2
                            2001:db8:2::/64 (MTU 1280)
                     chain  a -- r1 -- r2 -- r3 -- z, links 2001:db8:1::/64 to :4::/64
  --loopback       a host whose only interface is the loopback (::1), in real time
  --control PATH   (ping6, tracert6, ttcp, ftp6) inside a running tcpip6 host, through its
                   control socket: the host runs the tool with its own stack and the
                   lines come back here; the destination is an IPv6 address
                     tcpip6 ping6 --control /tmp/h6.sock -c 3 2001:db8:77::1
                     tcpip6 tracert6 --control /tmp/h6.sock 2001:db8:2::5
                     tcpip6 ttcp --control /tmp/h6.sock -r       (until the sender closes)
                     tcpip6 ttcp --control /tmp/h6.sock -t 2001:db8:77::1
"""


class CliError(Exception):
    """A user-facing error: printed as one line, exit status 1 (or ``status``)."""

    def __init__(self, message: str, status: int = 1) -> None:
        super().__init__(message)
        self.status = status


def _fill(text: str) -> str:
    return textwrap.fill(text, WIDTH, break_on_hyphens=False, break_long_words=False)


def wrap(text: str) -> str:
    """A description for RawDescriptionHelpFormatter: each paragraph (blank-line
    separated) filled to :data:`WIDTH`, except lines that start with a space (examples),
    which stay as written."""
    out: list[str] = []
    for para in text.split("\n\n"):
        lines = para.split("\n")
        if any(line.startswith(" ") for line in lines[1:]):
            head = [line for line in lines if not line.startswith(" ")]
            rest = [line for line in lines if line.startswith(" ")]
            out.append("\n".join([_fill(" ".join(head)), *rest]))
        else:
            out.append(_fill(" ".join(lines)))
    return "\n\n".join(out)


def options(cls: type[T], values: Mapping[str, Any]) -> T:
    """A tool's options from its command line (see :func:`build_options`); a bad one is
    a usage error (one line, exit 2)."""
    try:
        return build_options(cls, values)
    except ValueError as exc:
        raise CliError(str(exc), 2) from None


class Backend:
    """The stack a tool runs on (``--sim`` or ``--loopback``) and how names resolve."""

    def __init__(self, args: argparse.Namespace) -> None:
        from tcpip6.apps.topology import build
        from tcpip6.io.runtime import loopback_stack

        self.topology: Topology | None = None
        if args.sim:
            try:
                self.topology = build(args.sim)
            except ValueError as exc:
                raise CliError(str(exc), 2) from None
            self.stack: Stack = self.topology.stack()
        elif args.loopback:
            self.stack, _ = loopback_stack()
        else:
            live = " or --control PATH (inside a running tcpip6 host)"
            raise CliError(
                "say where to run: --sim TOPOLOGY (demo, chain) or --loopback"
                + (live if getattr(args, "runs_in_host", False) else ""),
                2,
            )

    def address(self, text: str) -> str:
        """A destination as an address: a host name of the topology, or an address."""
        if self.topology is not None:
            text = self.topology.resolve(text)
        elif text == "localhost":
            text = "::1"
        try:
            self.stack.host.scoped_destination(text)
        except ValueError as exc:
            if ":" not in text:
                hint = "; hosts: " + ", ".join(self.topology.hosts) if self.topology else ""
                raise CliError(f"{text}: Name or service not known{hint}", 2) from None
            raise CliError(str(exc), 2) from None
        return text

    def server(self, name: str | None) -> tuple[str, Stack, str]:
        """The serving host of services and httpd: (address, stack, name); on
        --loopback this host, with --sim ``name`` (default the topology's peer)."""
        topo = self.topology
        if topo is None:
            return "::1", self.stack, "::1"
        name = name or topo.peer
        if name not in topo.hosts or name == topo.origin:
            raise CliError(f"{name}: name a host of {topo.name} other than {topo.origin}", 2)
        return topo.resolve(name), topo.stack(name), name


def run_in_host(tool: str, control: str, job_args: dict[str, Any]) -> int:
    """Run a tool inside a live host (its control socket at ``control``), printing the
    lines it sends back; the tool's exit status."""
    from tcpip6.io.control import ControlError, stream

    try:
        for answer in stream(Path(control), {"run": tool, "args": job_args}):
            if "error" in answer:
                raise CliError(f"{control}: {answer['error']}", 2)
            if "line" in answer:
                print(answer["line"], flush=True)
            if "done" in answer:
                status = answer.get("status")
                return status if isinstance(status, int) else 1
    except ControlError as exc:
        raise CliError(str(exc)) from None
    raise CliError(f"{control}: no answer", 1)


def add_trace_options(p: argparse.ArgumentParser, trace_help: str) -> None:
    """``--trace`` (``trace_help`` says when it prints) and ``--trace-format``, the lines
    :func:`~tcpip6.stack.machines.graph.trace_printer` writes."""
    p.add_argument("--trace", action="store_true", help=trace_help)
    p.add_argument(
        "--trace-format",
        choices=TRACE_FORMATS,
        default="text",
        help="trace line format: text, or json: JSON Lines (one JSON object per transition "
        "and line; name the file .jsonl), what diagram --highlight reads",
    )


def tool_parser(
    sub: Subparsers,
    name: str,
    help: str,
    description: str,
    add_help: bool = True,
    in_host: bool = False,
    serves: bool = False,
) -> argparse.ArgumentParser:
    """The subparser of a tool that runs on a stack: its description wrapped, the
    backends (--sim, --loopback and, if ``in_host``, --control) and their epilog; if
    ``serves``, the optional SERVER that :meth:`Backend.server` reads."""
    p: argparse.ArgumentParser = sub.add_parser(
        name,
        help=help,
        description=wrap(description),
        epilog=BACKENDS,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        add_help=add_help,
    )
    if not add_help:
        p.add_argument("--help", action="help", help="show this help message and exit")
    where = p.add_mutually_exclusive_group()
    if in_host:
        where.add_argument(
            "--control",
            metavar="PATH",
            help="run inside the tcpip6 host whose control socket is PATH (see below)",
        )
    where.add_argument(
        "--sim",
        metavar="TOPOLOGY",
        help="run on host a of a simulated network: demo, chain or ipsec",
    )
    where.add_argument(
        "--loopback", action="store_true", help="run on a loopback-only host (::1), real time"
    )
    p.set_defaults(control=None, runs_in_host=in_host)
    if serves:
        p.add_argument("server", nargs="?", help="with --sim, the serving host's name")
    return p


__all__ = [
    "BACKENDS",
    "Backend",
    "CliError",
    "Subparsers",
    "add_trace_options",
    "options",
    "run_in_host",
    "tool_parser",
    "wrap",
]

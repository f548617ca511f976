"""The ``tcpip6`` command line: the list of tools, and the dispatch.

Each tool's module owns its command line: ``add_parser(subparsers)`` returns the tool's
subparser and ``run(args)`` runs it (exit status). A new tool registers itself by adding
its module to :data:`TOOLS`. Every subcommand explains itself with ``--help``. A bad
command line gets a one-line error and exit status 2 (argparse's convention), never a
traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from tcpip6.apps.command import CliError

EPILOG = """\
examples:
  tcpip6 demo                      a simulated network boots, autoconfigures and pings
  tcpip6 demo --trace              ... printing every state change of every graph
  tcpip6 diagram --list            the state machines the stack runs
  tcpip6 diagram nce --format mermaid
  tcpip6 diagram tcp --simple --format svg --output tcp.svg   the textbook view
  tcpip6 demo --trace --trace-format json > run.jsonl
  tcpip6 diagram nce --highlight run.jsonl --format svg --output nce.svg
  tcpip6 docs                      one page per state machine in docs/machines/
  tcpip6 ping6 --sim demo -c 3 c   ping host c across the demo network's router
  tcpip6 tracert6 --sim chain z    the three routers between a and z, then z
  tcpip6 ttcp --sim demo -t -r     TCP throughput from a to b on a 100 Mb/s segment
  tcpip6 ttcp --sim demo -t -r -u  the same over UDP
  tcpip6 services --sim demo       echo, discard, daytime, qotd, chargen on b, queried by a
                                   over UDP and TCP
  tcpip6 httpd --sim demo          a fetches a file from b's HTTP server, checked byte for byte
  tcpip6 ping6 --loopback -c 2 ::1 the same ping6, real time, on a loopback host
  tcpip6 host --link ethernet:eth1 a live host on a real interface (root; see its --help)
"""

#: The tools, in the order ``tcpip6 --help`` lists them: modules with ``add_parser`` and
#: ``run``.
TOOLS = (
    "tcpip6.apps.demo",
    "tcpip6.apps.diagram",
    "tcpip6.apps.docs",
    "tcpip6.apps.ping6",
    "tcpip6.apps.tracert6",
    "tcpip6.apps.ttcp",
    "tcpip6.apps.services",
    "tcpip6.apps.httpd",
    "tcpip6.apps.host",
    "tcpip6.apps.show",
    "tcpip6.apps.sixtofourcfg",
    "tcpip6.apps.ftp6",
    "tcpip6.apps.broker",
    "tcpip6.apps.link_events",
    "tcpip6.apps.check",
)

#: Each command name and the module of :data:`TOOLS` that registers it: ``tcpip6 NAME``
#: imports only that module, not every tool's (a process start pays for what it imports).
COMMANDS = {
    "demo": "tcpip6.apps.demo",
    "diagram": "tcpip6.apps.diagram",
    "docs": "tcpip6.apps.docs",
    "ping6": "tcpip6.apps.ping6",
    "tracert6": "tcpip6.apps.tracert6",
    "ttcp": "tcpip6.apps.ttcp",
    "services": "tcpip6.apps.services",
    "httpd": "tcpip6.apps.httpd",
    "host": "tcpip6.apps.host",
    "show": "tcpip6.apps.show",
    "6to4cfg": "tcpip6.apps.sixtofourcfg",
    "ftp6": "tcpip6.apps.ftp6",
    "ftpd6": "tcpip6.apps.ftp6",
    "broker": "tcpip6.apps.broker",
    "link": "tcpip6.apps.link_events",
    "check": "tcpip6.apps.check",
}


def build_parser(tools: Sequence[str] = TOOLS) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tcpip6",
        description="A user-space IPv6 host stack whose RFC state machines are explicit graphs.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in tools:
        tool = importlib.import_module(name)
        tool.add_parser(sub).set_defaults(run=tool.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    # A known command first: only its tool's parser is built (any other command line gets
    # the whole parser, with its help and its errors).
    tool = COMMANDS.get(argv[0]) if argv else None
    parser = build_parser((tool,) if tool else TOOLS)
    args = parser.parse_args(argv)
    if not getattr(args, "run", None):
        parser.print_help()
        return 2
    try:
        result: int = args.run(args)
        return result
    except CliError as exc:
        print(f"tcpip6 {args.command}: {exc}", file=sys.stderr)
        return exc.status
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # Output piped into `head` and the like: not an error of ours.
        sys.stderr.close()
        return 0


__all__ = ["COMMANDS", "TOOLS", "CliError", "build_parser", "main"]

"""Tools a live host runs for a client of its control socket: ``tcpip6 ping6 --control``,
``tcpip6 tracert6 --control``, ``tcpip6 ttcp --control``.

The client sends one request line, ``{"run": "ping6", "args": {...}}``; the host answers
with the tool's output as it comes, one ``{"line": TEXT}`` per line, then
``{"done": true, "status": N}`` (the exit status the tool would have had). A job never
blocks the host: it is polled by the control server, a node of the host's driver, at the
times it asks for (:meth:`Job.next_deadline`), and at once when its raw socket has
something queued. Closing the control connection stops the job.

Each job is the tool's own code run a step at a time: :class:`~tcpip6.apps.ping6.Pinger`
with its ``start``/``step``/``take``/``finish``, and :class:`~tcpip6.apps.tracert6.Tracer`
with its ``send_probe``/``match``; ttcp's jobs are in :mod:`tcpip6.apps.ttcp_jobs`. A job's
options come from the request's ``args`` through :func:`~tcpip6.apps.options.build_options`,
the function the command line builds them with: the defaults are the options dataclass's.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from typing import Any

from tcpip6.api.sockets import Socket, Stack
from tcpip6.apps.options import build_options
from tcpip6.apps.ping6 import Pinger, PingOptions, resolve
from tcpip6.apps.tracert6 import Answer, TraceOptions, Tracer, header_lines, hop_line

#: Tools a live host runs for its control socket.
TOOLS = ("ping6", "tracert6", "ttcp", "ftp6")
#: The shortest ping interval a job may ask for: the host's loop is shared.
MIN_INTERVAL = 0.01


class _Lines(io.StringIO):
    """What a tool prints, taken a complete line at a time."""

    def take(self) -> list[str]:
        text = self.getvalue()
        end = text.rfind("\n")
        if end < 0:
            return []
        self.seek(0)
        self.truncate()
        self.write(text[end + 1 :])
        return text[:end].split("\n")


class Job:
    """A tool running inside the host. Subclasses fill ``_step``."""

    def __init__(self) -> None:
        self.out = _Lines()
        self.status: int | None = None  # set when finished
        self.wake = 0.0
        self._reported = False  # the "done" line is out

    @property
    def finished(self) -> bool:
        return self.status is not None

    def next_deadline(self) -> float | None:
        if self.finished:
            return None if self._reported else 0.0
        return 0.0 if self._pending() else self.wake

    def poll(self, now: float) -> list[dict[str, Any]]:
        """Run what is due; the answer lines to send (the last one ``done`` when over)."""
        if not self.finished:
            self._step(now)
        out: list[dict[str, Any]] = [{"line": line} for line in self.out.take()]
        if self.finished and not self._reported:
            self._reported = True
            out.append({"done": True, "status": self.status})
        return out

    def cancel(self, now: float) -> None:
        """The client has gone: stop, and free the sockets."""
        if not self.finished:
            self._close()
            self.status = 130
        self._reported = True

    def stop(self, now: float) -> None:
        """The client was interrupted: end as the tool ends on SIGINT (the next poll
        sends the last lines)."""
        if not self.finished:
            self._interrupt()
            self.wake = now

    def _interrupt(self) -> None:
        raise NotImplementedError

    def _pending(self) -> bool:
        return False

    def _step(self, now: float) -> None:
        raise NotImplementedError

    def _close(self) -> None:
        raise NotImplementedError


def _queue_of(sock: Socket) -> bool:
    return bool(sock.queue)


class PingJob(Job):
    def __init__(self, stack: Stack, destination: str, opts: PingOptions) -> None:
        super().__init__()
        dst = resolve(stack, destination)
        self.pinger = Pinger(stack, destination, dst, opts, self.out)
        self.pinger.start()

    def _pending(self) -> bool:
        return _queue_of(self.pinger.sock)

    def _step(self, now: float) -> None:
        pinger = self.pinger
        sock = pinger.sock
        while sock.queue:
            item = sock.queue.popleft()
            pinger.take(item.data, str(item.address[0]), item.hop_limit)
        until = pinger.step()
        if until is None:
            self.status = pinger.finish()
        else:
            self.wake = until

    def _close(self) -> None:
        self.pinger.sock.close()

    def _interrupt(self) -> None:
        self.status = self.pinger.finish()


class TraceJob(Job):
    def __init__(self, stack: Stack, destination: str, opts: TraceOptions) -> None:
        super().__init__()
        self.stack = stack
        self.opts = opts
        dst = resolve(stack, destination)
        for line in header_lines(destination, dst, None, opts):
            print(line, file=self.out)
        self.tracer = Tracer(stack, dst, opts)
        self.hops = 1
        self.answers: list[Answer | None] = []
        self.probe: tuple[int, float] | None = None  # (serial, sent) of the probe out

    def _pending(self) -> bool:
        return _queue_of(self.tracer.listener)

    def _step(self, now: float) -> None:
        tracer = self.tracer
        listener = tracer.listener
        if self.probe is not None:
            serial, sent = self.probe
            while listener.queue:
                item = listener.queue.popleft()
                answer = tracer.match(item.data, str(item.address[0]), serial, sent)
                if answer is not None:
                    self._answered(answer)
                    break
            else:
                if now >= sent + self.opts.wait:
                    self._answered(None)
        if self.finished:
            return
        if self.probe is None:
            listener.queue.clear()  # late answers to earlier probes
            try:
                self.probe = tracer.send_probe(self.hops)
            except OSError as exc:
                print(f"tracert6: {exc.strerror or exc}", file=self.out)
                self._end(2)
                return
        self.wake = self.probe[1] + self.opts.wait

    def _answered(self, answer: Answer | None) -> None:
        self.probe = None
        self.answers.append(answer)
        if len(self.answers) < self.opts.probes:
            return
        line, reached, last = hop_line(self.hops, self.answers)
        print(line, file=self.out)
        self.answers = []
        if last or self.hops >= self.opts.max_hops:
            print("\nTrace complete.", file=self.out)
            self._end(0 if reached else 1)
            return
        self.hops += 1

    def _end(self, status: int) -> None:
        self.tracer.close()
        self.status = status

    def _close(self) -> None:
        self.tracer.close()

    def _interrupt(self) -> None:
        print("\nTrace complete.", file=self.out)
        self._end(1)


def start_job(stack: Stack, request: Mapping[str, Any]) -> Job:
    """The job a ``{"run": TOOL, "args": {...}}`` request asks for (ValueError: a bad
    request, its message one line for the client)."""
    tool = request.get("run")
    args = request.get("args", {})
    if tool not in TOOLS:
        raise ValueError(f"unknown tool {tool!r} (known: {', '.join(TOOLS)})")
    if not isinstance(args, dict):
        raise ValueError('"args" is a JSON object')
    if tool == "ftp6":
        from tcpip6.apps.ftp6 import ftp6_job  # it builds on Job

        try:
            return ftp6_job(stack, args)
        except (OSError, ValueError) as exc:
            raise ValueError(f"ftp6: {exc}") from None
    if tool == "ttcp":
        from tcpip6.apps.ttcp_jobs import _why, ttcp_job  # they build on Job

        try:
            return ttcp_job(stack, args)
        except OSError as exc:
            raise ValueError(f"ttcp: {_why(exc)}") from None
        except ValueError as exc:
            raise ValueError(f"ttcp: {exc}") from None
    destination = args.get("destination")
    if not isinstance(destination, str) or not destination:
        raise ValueError(f"{tool}: give a destination address")
    try:
        if tool == "ping6":
            popts = build_options(PingOptions, args)
            if popts.interval < MIN_INTERVAL:
                raise ValueError(f"interval {popts.interval}: at least {MIN_INTERVAL} s here")
            return PingJob(stack, destination, popts)
        return TraceJob(stack, destination, build_options(TraceOptions, args))
    except OSError as exc:
        raise ValueError(f"{tool}: {exc.strerror or exc}") from None
    except ValueError as exc:
        raise ValueError(f"{tool}: {exc}") from None


__all__ = ["TOOLS", "Job", "PingJob", "TraceJob", "start_job"]

"""The tunnel broker's database (RFC 3053 §3.1: the TB "keeps" the users' tunnels): which
IPv4 address holds which /64 of the pool, in SQLite (the standard library's sqlite3).

Every operation opens its own connection and runs in one transaction; an allocation takes
the database's write lock first (``BEGIN IMMEDIATE``), so two allocations, in threads or
in processes, never see the same free /64, and the ``UNIQUE`` constraints on the slot and
the IPv4 address are the second guard. Allocations survive restarts (they are rows in a
file); a release deletes the row and so frees the /64 for the next request.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv6Address, IPv6Network
from pathlib import Path

SCHEMA = """
CREATE TABLE IF NOT EXISTS tunnels (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    slot INTEGER NOT NULL UNIQUE,
    client_ipv4 TEXT NOT NULL UNIQUE,
    created TEXT NOT NULL
)
"""
#: Seconds a connection waits for another's write lock.
LOCK_TIMEOUT = 30.0


class PoolExhausted(Exception):
    """Every /64 of the pool is allocated."""


class AlreadyAllocated(Exception):
    """That IPv4 address holds a tunnel already (RFC 3053: one per user)."""

    def __init__(self, record: Allocation) -> None:
        super().__init__(f"{record.client_ipv4} has tunnel {record.id} already")
        self.record = record


@dataclass(frozen=True)
class Allocation:
    id: int
    slot: int
    client_ipv4: IPv4Address
    created: str


class Pool:
    """The /64s of ``prefix`` (a /48 to /63), numbered from 1 (slot 0 is kept back)."""

    def __init__(self, prefix: IPv6Network, size: int) -> None:
        if not 32 <= prefix.prefixlen <= 63:
            raise ValueError(f"{prefix}: the pool is a /32 to /63 (it is cut into /64s)")
        self.prefix = prefix
        self.size = min(size, (1 << (64 - prefix.prefixlen)) - 1)
        if self.size < 1:
            raise ValueError("the pool holds at least one /64")

    def network(self, slot: int) -> IPv6Network:
        base = int(self.prefix.network_address) + (slot << 64)
        return IPv6Network((base, 64))

    def server_address(self, slot: int) -> IPv6Address:
        return self.network(slot).network_address + 1

    def client_address(self, slot: int) -> IPv6Address:
        return self.network(slot).network_address + 2


class BrokerDb:
    def __init__(self, path: str | Path, pool: Pool) -> None:
        self.path = Path(path)
        self.pool = pool
        with self._connect() as db:
            db.execute(SCHEMA)

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        db = sqlite3.connect(self.path, timeout=LOCK_TIMEOUT, isolation_level=None)
        try:
            yield db
        finally:
            db.close()

    def allocate(self, client: IPv4Address) -> Allocation:
        """The lowest free /64 for ``client``. PoolExhausted, AlreadyAllocated."""
        with self._connect() as db:
            db.execute("BEGIN IMMEDIATE")
            try:
                row = db.execute(
                    "SELECT id, slot, client_ipv4, created FROM tunnels WHERE client_ipv4 = ?",
                    (str(client),),
                ).fetchone()
                if row is not None:
                    raise AlreadyAllocated(_record(row))
                taken = {r[0] for r in db.execute("SELECT slot FROM tunnels")}
                slot = next((s for s in range(1, self.pool.size + 1) if s not in taken), None)
                if slot is None:
                    raise PoolExhausted(
                        f"all {self.pool.size} /64s of {self.pool.prefix} are taken"
                    )
                created = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
                cur = db.execute(
                    "INSERT INTO tunnels (slot, client_ipv4, created) VALUES (?, ?, ?)",
                    (slot, str(client), created),
                )
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
            assert cur.lastrowid is not None
            return Allocation(cur.lastrowid, slot, client, created)

    def release(self, tunnel_id: int) -> Allocation | None:
        """Delete the allocation (its /64 is free again); None when there was none."""
        with self._connect() as db:
            db.execute("BEGIN IMMEDIATE")
            row = db.execute(
                "SELECT id, slot, client_ipv4, created FROM tunnels WHERE id = ?", (tunnel_id,)
            ).fetchone()
            if row is not None:
                db.execute("DELETE FROM tunnels WHERE id = ?", (tunnel_id,))
            db.execute("COMMIT")
            return _record(row) if row is not None else None

    def get(self, tunnel_id: int) -> Allocation | None:
        with self._connect() as db:
            row = db.execute(
                "SELECT id, slot, client_ipv4, created FROM tunnels WHERE id = ?", (tunnel_id,)
            ).fetchone()
            return _record(row) if row is not None else None

    def all(self) -> list[Allocation]:
        with self._connect() as db:
            rows = db.execute("SELECT id, slot, client_ipv4, created FROM tunnels ORDER BY id")
            return [_record(r) for r in rows]


def _record(row: tuple[int, int, str, str]) -> Allocation:
    return Allocation(row[0], row[1], IPv4Address(row[2]), row[3])

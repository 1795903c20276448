"""CPU used by process trees, from ``/proc``: a server, PostgreSQL, by role.

User + system time from ``/proc/<pid>/stat`` of a server's processes and of
PostgreSQL's (the backends and each background process by name), so that a
bench can say where the CPU of one request goes (the Python server, the
backends, the WAL writer). Linux only; the processes must be on this machine.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import psycopg

from testkit.databases import plain

TICK = os.sysconf("SC_CLK_TCK")


def _stat(pid: int) -> list[str] | None:
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:  # the process ended
        return None
    return raw[raw.rindex(")") + 2:].split()  # fields from 3 (state) on


def _children_map() -> dict[int, list[int]]:
    kids: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (fields := _stat(int(entry.name))) is not None:
            kids.setdefault(int(fields[1]), []).append(int(entry.name))
    return kids


def process_tree(root: int) -> list[int]:
    """``root`` and all its descendants alive now."""
    kids, out, todo = _children_map(), [], [root]
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo.extend(kids.get(pid, []))
    return out


def _role(pid: int, root: int) -> str:
    """A process's group: ``server`` (not PostgreSQL), ``backends`` or the background name."""
    try:
        cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode().strip()
    except OSError:
        return "ended"
    if pid == root or not cmd.startswith("postgres:"):
        return "postmaster" if cmd.split(" ")[0].endswith("postgres") else "server"
    title = cmd.removeprefix("postgres:").strip()
    return "backends" if "(" in title or "[local]" in title else title.split(" ")[0]


def cpu_by_role(roots: dict[str, int]) -> dict[str, float]:
    """CPU seconds so far of each process tree, by role; ``exited`` counts reaped children."""
    out: dict[str, float] = {}
    for tree, root in roots.items():
        for pid in process_tree(root):
            fields = _stat(pid)
            if fields is None:
                continue
            key = f"{tree}:{_role(pid, root)}"
            out[key] = out.get(key, 0.0) + (int(fields[11]) + int(fields[12])) / TICK
            if pid == root:  # children that ended and were waited for
                out[f"{tree}:exited"] = (out.get(f"{tree}:exited", 0.0)
                                         + (int(fields[13]) + int(fields[14])) / TICK)
    return out


class CpuMeter:
    """CPU used between ``start()`` and ``stop()`` by process trees, by role.

    Parameters
    ----------
    roots
        ``{name: pid}`` of the trees to measure (e.g. the server, the postmaster).
    """

    def __init__(self, roots: dict[str, int]) -> None:
        self.roots = roots
        self._before: dict[str, float] = {}
        self._own = 0.0
        self.used: dict[str, float] = {}

    def start(self) -> None:
        """Take the first reading."""
        self._before = cpu_by_role(self.roots)
        self._own = time.process_time()

    def stop(self) -> dict[str, float]:
        """CPU seconds used since ``start()`` by role (``client``: this process)."""
        after = cpu_by_role(self.roots)
        self.used = {k: v - self._before.get(k, 0.0) for k, v in after.items()}
        self.used["bench:client"] = time.process_time() - self._own
        return self.used


def print_cpu(label: str, used: dict[str, float], reports: int) -> None:
    """One line: CPU milliseconds per report by role, the biggest first."""
    parts = sorted(((v, k) for k, v in used.items() if v > 0), reverse=True)
    total = sum(v for v, k in parts if not k.startswith("bench:"))
    each = ", ".join(f"{k} {1000 * v / reports:.2f}" for v, k in parts)
    print(f"  CPU ms per report, {label}: total {1000 * total / reports:.2f} "
          f"(without the load generator) = {each}")


def postmaster_pid(url: str) -> int:
    """The PostgreSQL server's process (the parent of a backend); same machine only."""
    with psycopg.connect(plain(url)) as conn:  # read while the backend is there
        row = conn.execute("SELECT pg_backend_pid()").fetchone()
        fields = _stat(int(row[0])) if row is not None else None
    if fields is None:
        raise RuntimeError(f"the server of {url!r} is not a process of this machine")
    return int(fields[1])

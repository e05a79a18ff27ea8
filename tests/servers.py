"""Throw-away PostgreSQL and Redis servers for integration tests.

Each runs from Debian's binaries on a free port in a temporary directory and
is removed afterwards; nothing touches a system-wide instance.
"""
from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, List


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _postgres_bin(tool: str) -> str:
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{tool}"))
    if not candidates:
        raise RuntimeError("PostgreSQL is not installed: run `make system-packages`")
    return candidates[-1]


def _as_postgres_user(command: List[str]) -> List[str]:
    # initdb refuses to run as root; the Debian package creates a `postgres` user.
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command


@contextmanager
def postgres_server() -> Iterator[str]:
    """Yields the SQLAlchemy URL of a fresh PostgreSQL server."""
    # Its own directory: as root, the server runs as `postgres`, which cannot
    # enter pytest's root-only temporary directories.
    workdir = Path(tempfile.mkdtemp(prefix="assistant-pg-"))
    data_dir, socket_dir = workdir / "pgdata", workdir / "pgsocket"
    socket_dir.mkdir()
    if os.geteuid() == 0:
        shutil.chown(workdir, "postgres")
        shutil.chown(socket_dir, "postgres")
    port = free_port()
    subprocess.run(
        _as_postgres_user([_postgres_bin("initdb"), "-D", str(data_dir), "-A", "trust", "-U", "postgres",
                           "--no-sync", "-E", "UTF8", "--locale", "C"]),
        check=True, stdout=subprocess.DEVNULL,
    )
    options = f"-p {port} -k {socket_dir} -c listen_addresses=127.0.0.1 -c fsync=off"
    pg_ctl = _postgres_bin("pg_ctl")
    subprocess.run(
        _as_postgres_user([pg_ctl, "-D", str(data_dir), "-o", options, "-w", "-l", str(workdir / "pg.log"), "start"]),
        check=True, stdout=subprocess.DEVNULL,
    )
    try:
        yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run(
            _as_postgres_user([pg_ctl, "-D", str(data_dir), "-m", "immediate", "-w", "stop"]),
            check=False, stdout=subprocess.DEVNULL,
        )
        shutil.rmtree(workdir, ignore_errors=True)


@contextmanager
def redis_server() -> Iterator[int]:
    """Yields the port of a fresh, non-persistent Redis server."""
    port = free_port()
    process = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise RuntimeError("redis-server did not start")
                time.sleep(0.1)
        yield port
    finally:
        process.terminate()
        process.wait(timeout=10)

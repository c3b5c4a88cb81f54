"""Launch `weekly_ml_pipeline` on a running Dagster webserver (its GraphQL API).

Called by the retrain operation (`rakuten trigger-pipeline`, `POST /api/trigger-retrain`) and
`rakuten trigger-drift-check`.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlparse

import httpx

from rakuten_assets.calendar import WEEKLY_JOB

#: Run statuses that mean "a run of the job is still going" (it would race with a new one).
ACTIVE_STATUSES = ("QUEUED", "NOT_STARTED", "STARTING", "STARTED", "CANCELING")

_ACTIVE_RUNS_QUERY = """
query ActiveRuns($filter: RunsFilter) {
  runsOrError(filter: $filter, limit: 50) {
    __typename
    ... on Runs { results { runId status } }
    ... on PythonError { message }
  }
}
"""


class DagsterUnavailableError(RuntimeError):
    """The Dagster webserver could not be reached, or refused the request."""


@dataclass(frozen=True)
class ActiveRun:
    run_id: str
    status: str


def _graphql_url(dagster_url: str) -> str:
    return dagster_url.rstrip("/") + "/graphql"


def running_weekly_runs(dagster_url: str, *, timeout: float = 10.0) -> list[ActiveRun]:
    """The runs of `weekly_ml_pipeline` that are queued or in progress on the webserver."""
    variables = {"filter": {"pipelineName": WEEKLY_JOB, "statuses": list(ACTIVE_STATUSES)}}
    try:
        response = httpx.post(
            _graphql_url(dagster_url),
            json={"query": _ACTIVE_RUNS_QUERY, "variables": variables},
            timeout=timeout,
        )
        response.raise_for_status()
        answer = response.json()
    except (httpx.HTTPError, ValueError) as exc:
        raise DagsterUnavailableError(
            f"could not query the runs of {WEEKLY_JOB} on {dagster_url}: {exc}. "
            "Is the Dagster webserver running (`make dev`)?"
        ) from exc
    if answer.get("errors"):
        raise DagsterUnavailableError(f"Dagster at {dagster_url} answered: {answer['errors']}")
    runs = answer["data"]["runsOrError"]
    if runs.get("__typename") != "Runs":
        raise DagsterUnavailableError(
            f"Dagster at {dagster_url} could not list runs: {runs.get('message')}"
        )
    return [ActiveRun(str(r["runId"]), str(r["status"])) for r in runs["results"]]


def launch_weekly_run(
    dagster_url: str, partition_key: str, *, launched_by: str = "rakuten-cli"
) -> str:
    """Submit one run of `weekly_ml_pipeline` for ``partition_key``; returns the Dagster run id."""
    return launch_run(dagster_url, WEEKLY_JOB, partition_key, launched_by=launched_by)


def launch_run(
    dagster_url: str, job_name: str, partition_key: str, *, launched_by: str = "rakuten-cli"
) -> str:
    """Submit one run of a partitioned job for ``partition_key``; returns the Dagster run id."""
    from dagster_graphql import DagsterGraphQLClient, DagsterGraphQLClientError

    url = urlparse(dagster_url)
    try:
        client = DagsterGraphQLClient(
            url.hostname or "127.0.0.1",
            port_number=url.port,
            use_https=url.scheme == "https",
            path_prefix=url.path.rstrip("/"),
            timeout=30,
        )
        return client.submit_job_execution(
            job_name, tags={"dagster/partition": partition_key, "launched_by": launched_by}
        )
    except (DagsterGraphQLClientError, ConnectionError) as exc:
        raise DagsterUnavailableError(
            f"could not launch {job_name} on {dagster_url}: {exc}. "
            "Is the Dagster webserver running (`make dev`)?"
        ) from exc

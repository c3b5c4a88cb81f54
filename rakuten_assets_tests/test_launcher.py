"""The launcher shared by `rakuten trigger-pipeline` and the API (a live webserver: test_cli)."""

from __future__ import annotations

import pytest

from rakuten_assets.launcher import DagsterUnavailableError, launch_weekly_run, running_weekly_runs
from rakuten_assets.processes import free_port


def test_an_unreachable_webserver_is_one_clear_error() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(DagsterUnavailableError, match="Is the Dagster webserver running"):
        running_weekly_runs(url)
    with pytest.raises(DagsterUnavailableError, match="Is the Dagster webserver running"):
        launch_weekly_run(url, "2026-01-05")

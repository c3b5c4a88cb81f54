"""The control room in a real browser: `rakuten ui` (a real `streamlit run` server on a free
port) driven by Playwright with Debian's headless Chromium (no browser download is possible
here, hence the system executable). Every page opens with no error element; acknowledging an
alert changes its state. Screenshots are kept under var/screenshots/.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import ConsoleMessage, Page, expect, sync_playwright

from rakuten_assets.data.catalog import SplitCatalog
from rakuten_assets.drift import alerts as drift_alerts
from rakuten_assets.processes import free_port, running
from rakuten_assets.settings import PROJECT_ROOT
from rakuten_assets_tests.test_serving_support import ADMIN_TOKEN
from rakuten_assets_tests.test_ui import Store, build_store

#: One worker under `make test` (xdist --dist loadgroup): the module's store is built once.
pytestmark = pytest.mark.xdist_group("ui_browser")
CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = PROJECT_ROOT / "var" / "screenshots"
#: URL path and title of each page (st.navigation derives the path from the file name).
PAGES = (
    ("", "Control room"),
    ("data", "Data"),
    ("models", "Models"),
    ("predict", "Predict"),
    ("drift", "Drift"),
    ("alerts", "Alerts"),
    ("activity", "Activity"),
)
#: Errors the page's scripts logged (a chart Vega-Lite cannot draw shows no element, only this).
CONSOLE_ERRORS: list[str] = []
ERROR_ELEMENTS = '[data-testid="stException"], [data-testid="stAlertContentError"]'


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory, small_split: SplitCatalog) -> Store:
    return build_store(tmp_path_factory.mktemp("ui-browser"), small_split, versions=1)


@pytest.fixture(scope="module")
def control_room(store: Store, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = free_port()
    env = {
        "DATA_DIR": str(store.data_dir),
        "DATABASE_URL": store.database_url,
        "MLFLOW_TRACKING_URI": store.tracking_uri,
        "API_ADMIN_TOKEN": ADMIN_TOKEN,
        # No API and no Dagster behind these: the pages say so in one line.
        "API_URL": f"http://127.0.0.1:{free_port()}",
        "DAGSTER_URL": f"http://127.0.0.1:{free_port()}",
    }
    command = [str(Path(sys.executable).parent / "rakuten"), "ui", "--port", str(port)]
    log = tmp_path_factory.mktemp("ui-log") / "streamlit.log"
    with running(
        command, health_url=f"http://127.0.0.1:{port}/_stcore/health", log_path=log, env=env
    ):
        yield f"http://127.0.0.1:{port}"


@pytest.fixture(scope="module")
def browser_page() -> Iterator[Page]:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: run `make browser-tools` (apt-get install chromium)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            args=["--no-sandbox", "--headless=new", "--disable-background-networking"],
        )
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        # The first render imports MLflow and pandas in the server: generous, never a sleep.
        page.set_default_timeout(60_000)
        expect.set_options(timeout=60_000)
        page.on("console", _console)
        page.on("pageerror", lambda error: CONSOLE_ERRORS.append(str(error)))
        yield page
        browser.close()


def _console(message: ConsoleMessage) -> None:
    # This machine has no network: a resource outside 127.0.0.1 fails to load, which is no
    # fault of the page.
    if message.type == "error" and not message.text.startswith("Failed to load resource"):
        CONSOLE_ERRORS.append(message.text)


def _open(page: Page, url: str, title: str) -> None:
    page.goto(url)
    expect(page.get_by_role("heading", name=title, exact=True)).to_be_visible()
    # The script has finished once the status widget ("Running...") is gone.
    expect(page.get_by_test_id("stStatusWidget")).to_have_count(0)
    # Charts and tables are loaded lazily behind skeletons: a screenshot wants them drawn.
    expect(page.get_by_test_id("stSkeleton")).to_have_count(0)


def test_every_page_opens_without_an_error_element(control_room: str, browser_page: Page) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for path, title in PAGES:
        _open(browser_page, f"{control_room}/{path}", title)
        browser_page.screenshot(path=str(SCREENSHOTS / f"{path or 'overview'}.png"), full_page=True)
        errors = browser_page.locator(ERROR_ELEMENTS)
        assert errors.count() == 0, (path, errors.all_inner_texts())
        assert not CONSOLE_ERRORS, (path, CONSOLE_ERRORS)
    overview_text = browser_page.locator("body")
    _open(browser_page, control_room, "Control room")
    expect(overview_text).to_contain_text("does not answer")


def test_acknowledging_an_alert_in_the_browser_changes_its_state(
    control_room: str, browser_page: Page, store: Store
) -> None:
    [alert, *_] = drift_alerts.list_alerts(store.engine, status="open")
    _open(browser_page, f"{control_room}/alerts", "Alerts")
    form = browser_page.get_by_test_id("stForm").first
    form.get_by_label("Note").fill("seen in the browser")
    form.get_by_role("button", name="Apply").click()
    expect(browser_page.get_by_text(f"alert #{alert['id']}: acknowledge done")).to_be_visible()
    browser_page.screenshot(path=str(SCREENSHOTS / "alerts-acknowledged.png"), full_page=True)
    assert drift_alerts.get_alert(store.engine, alert["id"])["status"] == "acknowledged"
    browser_page.get_by_role("tab", name="Acknowledged").click()
    expect(browser_page.get_by_text(f"#{alert['id']} ", exact=False).first).to_be_visible()

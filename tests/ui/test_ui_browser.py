"""The page of `sscc run --ui` in headless Chromium (Debian's `chromium` + `chromium-driver`,
driven by selenium; no browser download): it draws the operator graph, and the numbers in the
graph and the tables follow the run as input is produced. A screenshot goes into the test's
tmp_path (and to docs/ui-screenshot.png when SSCC_UI_SCREENSHOT=1)."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import pytest

from conftest import ROOT
from ui_helpers import EXAMPLES, WAIT_S, Running

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
DRIVER = shutil.which("chromedriver")


def browser():
    if not CHROMIUM or not DRIVER:
        pytest.skip("headless Chromium is missing: apt-get install chromium chromium-driver (scripts/setup.sh installs them)")
    webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is missing: pip install -e '.[test]'")
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1400,1250"):
        options.add_argument(arg)
    return webdriver.Chrome(service=Service(DRIVER), options=options)


def wait_for(driver, script: str, what: str):
    """Evaluate `script` in the page until it returns something truthy."""
    deadline = time.monotonic() + WAIT_S
    last = None
    while time.monotonic() < deadline:
        last = driver.execute_script(script)
        if last:
            return last
        time.sleep(0.3)
    pytest.fail(f"the page never showed {what}; last: {last!r}")


def test_page_draws_the_graph_and_follows_the_run(tmp_path):
    driver = browser()
    source_a = (EXAMPLES / "word-join" / "input" / "source-a.txt").read_text().splitlines()
    source_b = (EXAMPLES / "word-join" / "input" / "source-b.txt").read_text().splitlines()
    probes = (EXAMPLES / "word-join" / "input" / "probe-word.txt").read_text().splitlines()
    try:
        with Running("word-join", tmp_path / "store", "--ui", "127.0.0.1:0") as run:
            driver.get(run.url + "/")
            # the graph: one cluster per service, a node per stage, topics and states
            wait_for(driver, "return document.querySelector('#graph svg g[id^=\"stage:\"]') !== null", "the graph")
            clusters = driver.execute_script(
                "return [...document.querySelectorAll('#graph svg g.cluster')].map(g => g.querySelector('text').textContent)"
            )
            K = "examples.word-join."  # services are named namespace.pipeline.service (runtime names.py)
            assert sorted(clusters) == [K + "look-up-word", K + "word-count-source-a", K + "word-count-source-b"]
            svg_text = driver.execute_script("return document.querySelector('#graph svg').textContent")
            for label in ("source-a", "probe-word", "word-count", "state count-per-word-a", "update-state", "from: count-per-word-b"):
                assert label in svg_text, label
            updates = int(wait_for(driver, "return document.body.dataset.updates", "an event"))
            assert driver.find_element("id", "status").text == "running"

            run.produce("source-a", source_a)
            run.produce("source-b", source_b)
            cell = "return document.querySelector('#services tr[data-service=\"%s\"] td.in')?.textContent"
            wait_for(driver, (cell % (K + "word-count-source-a")).replace("?.textContent", "?.textContent === '%d'" % len(source_a)), "source-a counted")
            wait_for(driver, (cell % (K + "word-count-source-b")).replace("?.textContent", "?.textContent === '%d'" % len(source_b)), "source-b counted")
            run.produce("probe-word", probes)
            wait_for(driver, (cell % (K + "look-up-word")).replace("?.textContent", "?.textContent === '%d'" % len(probes)), "the probes counted")
            assert int(driver.execute_script("return document.body.dataset.updates")) > updates
            # the live numbers are written into the graph's nodes too
            stats = driver.execute_script(
                "return [...document.querySelectorAll('#graph svg g[id^=\"stage:\"] text.stats')].map(t => t.textContent)"
            )
            assert len(stats) == 3 and f"({len(probes)} in)" in " ".join(stats)
            # dead letters with their reasons, and the state browser
            wait_for(driver, "return document.querySelectorAll('#deadletters tbody tr').length > 0", "dead letters")
            driver.find_element("id", "state-show").click()
            wait_for(driver, "return document.querySelector('#state-out table') !== null", "a state table")
            driver.find_element("id", "sql-query").send_keys("select _key, occurrences from count_per_word_a order by _key")
            driver.find_element("id", "sql-run").click()
            wait_for(driver, "return document.querySelector('#sql-out table') !== null", "the SQL answer")
            rows = driver.execute_script("return document.querySelectorAll('#sql-out tbody tr').length")
            assert rows > 0
            shot = tmp_path / "ui-screenshot.png"
            height = driver.execute_script("return document.documentElement.scrollHeight")
            driver.set_window_size(1400, min(int(height) + 140, 4000))  # the whole page in one picture
            driver.execute_script("window.scrollTo(0, 0)")
            driver.save_screenshot(str(shot))
            assert shot.stat().st_size > 10_000
            if os.environ.get("SSCC_UI_SCREENSHOT") == "1":
                shutil.copy(shot, Path(ROOT) / "docs" / "ui-screenshot.png")
    finally:
        driver.quit()

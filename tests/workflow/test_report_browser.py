"""The tiny sweep's results/report.html in a real browser: headless Chromium driven by Selenium.

The Snakemake report is a JavaScript app, so the file existing proves little. This test lets the
app render, checks from the live DOM that the first page shows the key findings (top visible, the
page's width, one row per size and dtype, the same fastest methods as the distances' findings
compute) and then the claims it decided (one row each with the verdict of claims.csv), then clicks
every figure open through the report's own menu and checks that its image decoded at the PNG's
size with its top and left edges on screen. Screenshots of each view are kept in the test's temp
folder and checked not to be blank. Needs Debian's chromium and chromium-driver (``make browser``,
run by ``make test`` as root); without them the test skips, saying so.
"""

from __future__ import annotations

import os
import shutil

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from numperf import findings
from numperf import plotting as figures
from numperf.families.distances import report as distance_report

CHROMIUM = "/usr/lib/chromium/chromium"  # the binary behind Debian's /usr/bin/chromium wrapper
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
WINDOW = (1400, 1000)

pytestmark = [pytest.mark.slow, pytest.mark.skipif(
    not (os.access(CHROMIUM, os.X_OK) and os.access(CHROMEDRIVER, os.X_OK)),
    reason="Debian's chromium and chromium-driver are not installed (`make browser`, as root)")]


@pytest.fixture(scope="module")
def report(tiny_sweep):
    """The tiny sweep run by the real Snakemake with its report built as `make report` builds it
    (the session's shared run: tests/conftest.py)."""
    return tiny_sweep.work


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    selenium = pytest.importorskip("selenium", reason="selenium is a dev extra: pip install -e '.[dev]'")
    from selenium.webdriver.chrome.service import Service

    opts = selenium.webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    profile = tmp_path_factory.mktemp("chromium-profile")
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--no-first-run", "--hide-scrollbars",
                f"--user-data-dir={profile}", f"--window-size={WINDOW[0]},{WINDOW[1]}"):
        opts.add_argument(arg)
    driver = selenium.webdriver.Chrome(options=opts, service=Service(CHROMEDRIVER))
    yield driver
    driver.quit()


def _wait(driver, condition, what: str, timeout_s: float = 30):
    from selenium.common.exceptions import TimeoutException
    from selenium.webdriver.support.ui import WebDriverWait

    try:
        return WebDriverWait(driver, timeout_s).until(condition)
    except TimeoutException:
        pytest.fail(f"timed out after {timeout_s} s waiting for {what}")


def _settled(driver, element, polls: int = 3, interval_s: float = 0.1, timeout_s: float = 10) -> None:
    """Wait until ``element``'s box stays put for ``polls`` polls in a row.

    The app's menu entries slide into place over about 150 ms after the page loads (their
    spacing grows from 20 to 28 px); a click sent during that slide hits a neighbouring entry,
    which is how this test failed twice in CI on the last entry of the menu.
    """
    import time

    script = "const r = arguments[0].getBoundingClientRect(); return [r.top, r.left, r.width, r.height];"
    last, same, deadline = None, 0, time.monotonic() + timeout_s
    while same < polls:
        if time.monotonic() > deadline:
            pytest.fail(f"the element kept moving for {timeout_s} s (last box {last})")
        box = driver.execute_script(script, element)
        same = same + 1 if box == last else 0
        last = box
        time.sleep(interval_s)


def _open_category(driver, report_html, category: str, xpath: str, what: str, attempts: int = 3):
    """Load the report, click the menu entry ``category`` once settled; return the element at ``xpath``.

    Should a click still be intercepted or go unanswered on a loaded machine, the page is reloaded
    and the click repeated, at most ``attempts`` times; the failure names the row and the entry.
    """
    from selenium.common.exceptions import ElementClickInterceptedException, TimeoutException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    for _ in range(attempts):
        driver.get(report_html.as_uri())
        link = _wait(driver, lambda d: d.find_elements(By.XPATH, f"//nav//a[normalize-space()='{category}']"),
                     f"the menu entry {category!r}")[0]
        _settled(driver, link)
        try:
            link.click()
            return WebDriverWait(driver, 15).until(lambda d: d.find_elements(By.XPATH, xpath))[0]
        except (ElementClickInterceptedException, TimeoutException):
            continue
    pytest.fail(f"{what} did not show under {category!r} after {attempts} clicks on the menu entry")


def _screenshot(driver, path) -> Image.Image:
    """Save a screenshot and check it is not blank (many colours, a real share of ink)."""
    driver.save_screenshot(str(path))
    img = Image.open(path).convert("RGB")
    pixels = np.asarray(img).reshape(-1, 3)
    ink = float((pixels.min(axis=1) < 200).mean())
    assert len(np.unique(pixels, axis=0)) > 50 and ink > 0.03, f"{path.name} looks blank (ink {ink:.1%})"
    return img


def _visible_top_left(driver, element) -> dict:
    return driver.execute_script("const r = arguments[0].getBoundingClientRect();"
                                 "return {top: r.top, left: r.left, width: r.width, height: r.height};",
                                 element)


def _rows_of_table_after(page, heading: str) -> list:
    """The body rows of the first table after the page's h1 ``heading``."""
    from selenium.webdriver.common.by import By

    table = f"(.//h1[normalize-space()='{heading}']/following::table)[1]"
    return page.find_elements(By.XPATH, f"{table}//tbody/tr")


def test_first_page_shows_the_key_findings_then_the_claims(report, browser, tmp_path):
    from selenium.webdriver.common.by import By

    browser.get((report / "results" / "report.html").as_uri())
    title = _wait(browser, lambda d: d.find_elements(By.XPATH, "//h1[normalize-space()='Key findings']"),
                  "the first page's 'Key findings' heading")[0]
    box = _visible_top_left(browser, title)
    assert 0 <= box["top"] < WINDOW[1] / 2, f"the findings' heading is off screen: {box}"
    page = browser.find_element(By.CSS_SELECTOR, "div.document")
    assert page.size["width"] > WINDOW[0] / 2, "the first page is squeezed beside the workflow graph"
    text = page.text
    assert "Fastest distance method per size and dtype" in text and "What was measured" in text
    assert text.index("Key findings") < text.index("Claims") < text.index("What was measured")
    claim_table = pd.read_csv(report / "results" / "tables" / "claims.csv")
    decided = claim_table[claim_table["verdict"] != "not measured"]
    claim_rows = _rows_of_table_after(page, "Claims")
    assert len(claim_rows) == len(decided)  # what the run did not measure is folded away
    for row, (_, claim) in zip(claim_rows, decided.iterrows(), strict=True):
        cells = [c.text for c in row.find_elements(By.TAG_NAME, "td")]
        assert cells[0].startswith(claim["claim_id"]) and claim["verdict"] in cells
    tables = findings.load(report / "results" / "tables")
    best = distance_report.fastest(tables)
    rows = _rows_of_table_after(page, "Key findings")
    assert len(rows) == len(best) == 4  # tiny: 2 sizes x 2 dtypes
    for row, (_, expected) in zip(rows, best.iterrows(), strict=True):
        cells = [c.text for c in row.find_elements(By.TAG_NAME, "td")]
        assert cells[0].replace("\n", " ") == f"{expected['n']} × {expected['m']} × {expected['d']}"
        assert cells[1] == expected["dtype"] and cells[2].startswith(expected["method"])
        assert "gemm_trick" in cells[3] or "×" in cells[3]
    _screenshot(browser, tmp_path / "first_page.png")


@pytest.mark.parametrize("name", [n for n, f in figures.FIGURES.items() if f.family == "distances"])
def test_each_figure_opens_from_the_menu(report, browser, name, tmp_path):
    """Every figure of the tiny sweep (distances only) opens from the report's menu and shows ink."""
    from selenium.webdriver.common.by import By

    category = figures.FIGURES[name].category
    row = _open_category(browser, report / "results" / "report.html", category,
                         f"//nav//tr[td[normalize-space()='{name}']]", f"the result row {name!r}")
    eye = row.find_element(By.CSS_SELECTOR, "td:last-child a")  # the eye: show the result
    _settled(browser, eye)
    eye.click()
    img = _wait(browser, lambda d: [i for i in d.find_elements(By.CSS_SELECTOR, "img[src^='data:image/png']")
                                    if d.execute_script("return arguments[0].complete && "
                                                        "arguments[0].naturalWidth > 0", i)],
                f"the {name} image to decode")[0]
    with Image.open(report / "results" / "figures" / f"{name}.png") as png:
        assert browser.execute_script("return [arguments[0].naturalWidth, arguments[0].naturalHeight]",
                                      img) == list(png.size)
    box = _visible_top_left(browser, img)
    assert box["top"] >= 0 and box["left"] >= 0, f"{name}: the figure's top or left edge is cut off: {box}"
    shot = _screenshot(browser, tmp_path / f"{name}.png")
    # the figure itself, as shown, has ink: not an empty or broken image
    visible = shot.crop((int(box["left"]), int(box["top"]), int(min(box["left"] + box["width"], WINDOW[0])),
                         int(min(box["top"] + box["height"], WINDOW[1]))))
    pixels = np.asarray(visible).reshape(-1, 3)
    assert (pixels.min(axis=1) < 200).mean() > 0.02, f"{name}: the figure shows up blank"


"""Screenshots for the README: docs/img/report.png and docs/img/explore.png.

Usage::

    python scripts/screenshots.py              # both
    python scripts/screenshots.py report       # only the report
    python scripts/screenshots.py explore      # only the explorer (needs resim[explore] and chromedriver)

The report is rendered with ``resim report`` (the bundled default, restriction
lengths 3, 6, 12 and 24 months) and photographed with ``chromium --headless
--screenshot``; the explorer is started with ``resim explore --no-browser`` on
a free port, driven with Selenium to a six-month restriction pinned against
the default, and photographed. Needs Debian's ``chromium`` (and
``chromium-driver`` for the explorer). The tests check the same pages but never
write into docs/.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from simulator.report.browser import pixel_stats, screenshot, selenium_driver

ROOT = Path(__file__).resolve().parent.parent
IMG = ROOT / "docs" / "img"
RESIM = Path(sys.executable).parent / "resim"


def report_png(out: Path = IMG / "report.png") -> Path:
    with tempfile.TemporaryDirectory() as d:
        html = Path(d) / "brief.html"
        subprocess.run([str(RESIM), "report", "--durations", "3,6,12,24", "--out", str(html)], check=True)
        png = screenshot(html.as_uri(), Path(d) / "report.png", 1100, 1500)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_bytes(png.read_bytes())
    print(f"wrote {out} {pixel_stats(out)}")
    return out


def _wait(cond, timeout: float):
    t0 = time.time()
    while time.time() - t0 < timeout:
        try:
            if cond():
                return
        except Exception:  # noqa: BLE001 (a failing check means: not ready yet, poll again)
            pass
        time.sleep(0.05)
    raise TimeoutError


def explore_png(out: Path = IMG / "explore.png") -> Path:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = subprocess.Popen([str(RESIM), "explore", "--no-browser", "--port", str(port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    driver = None
    url = f"http://127.0.0.1:{port}/"
    try:
        _wait(lambda: urllib.request.urlopen(url, timeout=2).status == 200, 60)
        driver = selenium_driver(1400, 1250)
        driver.get(url)

        def ready():
            text = driver.find_element(By.ID, "headline").text
            return "computing" not in text and "5\u201395 %" in text

        _wait(ready, 240)
        driver.find_element(By.ID, "btn-pin").click()
        _wait(lambda: "Pinned" in driver.find_element(By.ID, "headline").text, 10)
        box = driver.find_element(By.CSS_SELECTOR, "#ctl-duration input[type=number]")
        box.send_keys(Keys.CONTROL, "a")
        box.send_keys("6")
        box.send_keys(Keys.TAB)
        _wait(lambda: "for 6 months" in driver.find_element(By.ID, "headline-lead").text and ready(), 60)
        _wait(lambda: "whiskers" in driver.find_element(By.ID, "fig-sectors").text, 60)
        time.sleep(0.5)
        out.parent.mkdir(parents=True, exist_ok=True)
        driver.save_screenshot(str(out))
    finally:
        if driver is not None:
            driver.quit()
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
    print(f"wrote {out} {pixel_stats(out)}")
    return out


if __name__ == "__main__":
    which = set(sys.argv[1:]) or {"report", "explore"}
    if "report" in which:
        report_png()
    if "explore" in which:
        explore_png()

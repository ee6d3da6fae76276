"""Headless Chromium for screenshots and browser tests (Debian's ``chromium``, no downloads).

Used by ``tests/test_report.py``, ``tests/test_explore.py`` and
``scripts/screenshots.py``. Chromium running as root needs ``--no-sandbox``;
without the ``--disable-*`` networking flags it stalls on a blocked network.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
#: Flags for a quiet, offline, headless Chromium.
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage", "--hide-scrollbars", "--mute-audio"]


def chromium_path() -> str | None:
    """The Chromium binary (``$RESIM_CHROMIUM``, /usr/bin/chromium, or on PATH), or None."""
    for cand in (os.environ.get("RESIM_CHROMIUM"), CHROMIUM, shutil.which("chromium")):
        if cand and Path(cand).is_file():
            return cand
    return None


def screenshot(url: str, png: Path, width: int = 1200, height: int = 2000, timeout: float = 90.0) -> Path:
    """``chromium --headless --screenshot`` of a URL (e.g. ``file:///.../brief.html``) into ``png``."""
    binary = chromium_path()
    if binary is None:
        raise FileNotFoundError("chromium not found (apt-get install chromium)")
    png = Path(png).resolve()
    with tempfile.TemporaryDirectory(prefix="resim-chromium-") as profile:
        cmd = [binary, *FLAGS, f"--user-data-dir={profile}", f"--screenshot={png}",
               f"--window-size={width},{height}", url]
        subprocess.run(cmd, check=True, capture_output=True, timeout=timeout)
    if not png.is_file():
        raise RuntimeError(f"chromium wrote no screenshot for {url}")
    return png


def selenium_driver(width: int = 1400, height: int = 1800, download_dir: Path | None = None):
    """A headless Selenium Chrome driver on Debian's chromium and chromedriver."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = chromium_path() or CHROMIUM
    for flag in FLAGS:
        opts.add_argument("--headless=new" if flag == "--headless" else flag)
    opts.add_argument(f"--window-size={width},{height}")
    if download_dir is not None:
        opts.add_experimental_option("prefs", {
            "download.default_directory": str(Path(download_dir).resolve()),
            "download.prompt_for_download": False,
            "safebrowsing.enabled": False,
        })
    driver_path = os.environ.get("RESIM_CHROMEDRIVER") or shutil.which("chromedriver") or CHROMEDRIVER
    return webdriver.Chrome(service=Service(driver_path), options=opts)


def pixel_stats(png: Path) -> dict:
    """Share of non-white pixels and the pixel variance of a screenshot (blank page: ~0, 0)."""
    import matplotlib.image as mpimg

    img = mpimg.imread(str(png))[..., :3].astype(float)
    if img.max() > 1.0:
        img = img / 255.0
    nonwhite = float((img.min(axis=2) < 0.94).mean())
    return {"shape": img.shape, "nonwhite_share": nonwhite, "variance": float(img.var())}

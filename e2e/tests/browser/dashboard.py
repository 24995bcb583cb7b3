"""Drives Debian's chromium (through chromium-driver and selenium) against a running harness.

Loads the dashboard, then sends requests while the page stays open: a hello, a fetch whose
destination is not allowed, and a blob upload. Asserts on the rendered page that the new
request rows appear without a reload, that the denial shows its fix, and that the uploaded
blob is listed with its size and its download link serves its bytes; saves a screenshot. Exits non-zero (with the reason) on failure.

usage: dashboard.py BASE_URL SCREENSHOT_PATH CHROMEDRIVER CHROMIUM
"""

import json
import sys
import tempfile
import urllib.parse
import urllib.request

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

DENIED = "http://127.0.0.1:9"
BLOB_BODY = b"seen in a real browser\n" * 3


def send(base, method, path, body=None):
    req = urllib.request.Request(base + path, data=body, method=method)
    if body is not None:
        req.add_header("content-type", "text/plain")
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.status
    except urllib.error.HTTPError as e:
        return e.code


def main():
    base, screenshot, chromedriver, chromium = sys.argv[1:5]
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    profile = tempfile.mkdtemp(prefix="dashboard-chromium-")
    for arg in [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        "--window-size=1400,1800",
        "--user-data-dir=" + profile,
    ]:
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(executable_path=chromedriver), options=options)
    try:
        wait = WebDriverWait(driver, 30)
        driver.get(base + "/_harness/")
        wait.until(lambda d: d.find_element(By.ID, "live").text == "live")
        wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#routes tbody tr.route-row"))
        routes = [r.text for r in driver.find_elements(By.CSS_SELECTOR, "#routes tbody tr.route-row")]
        before = len(driver.find_elements(By.CSS_SELECTOR, "tr.request-row"))
        # A page reload would lose this marker.
        driver.execute_script("window.__notReloaded = 'yes';")

        statuses = {
            "hello": send(base, "GET", "/hello?name=browser"),
            "denied": send(base, "GET", "/fetch?url=" + urllib.parse.quote(DENIED + "/x", safe="")),
            "upload": send(base, "POST", "/write?container=browser&blob=note.txt", BLOB_BODY),
        }
        assert statuses == {"hello": 200, "denied": 502, "upload": 201}, statuses

        wait.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "tr.request-row")) >= before + 3)
        denial = f"denied: add `{DENIED}` to allowed_hosts"
        wait.until(lambda d: any(denial in c.text for c in d.find_elements(By.CSS_SELECTOR, ".call.denied")))
        selector = 'tr.blob-row[data-container="browser"][data-blob="note.txt"] .blob-size'
        expected_size = f"{len(BLOB_BODY)} B"
        wait.until(lambda d: [e.text for e in d.find_elements(By.CSS_SELECTOR, selector)] == [expected_size])
        assert driver.execute_script("return window.__notReloaded;") == "yes", "the page was reloaded"
        link = driver.find_element(
            By.CSS_SELECTOR, 'tr.blob-row[data-container="browser"][data-blob="note.txt"] a'
        ).get_attribute("href")
        with urllib.request.urlopen(link, timeout=30) as resp:
            assert resp.read() == BLOB_BODY, "the download link serves the blob's bytes"
        paths = [e.text for e in driver.find_elements(By.CSS_SELECTOR, "tr.request-row td.path")]
        for path in ["/hello", "/fetch", "/write"]:
            assert path in paths, (path, paths)
        page = driver.find_element(By.TAG_NAME, "body").text
        assert "STORAGE_MASTER_KEY" in page, "environment names are listed"
        driver.save_screenshot(screenshot)
        print(json.dumps({"routes": len(routes), "rows_before": before, "rows_after": len(paths),
                          "statuses": statuses, "screenshot": screenshot}))
    finally:
        driver.quit()


if __name__ == "__main__":
    main()

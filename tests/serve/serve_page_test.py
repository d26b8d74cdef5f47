"""The comparison page at / in headless Chromium (Debian's `chromium`, driven over the DevTools
protocol by tests/serve/cdp.py; skipped, exit 77, when absent): the page loads the model and press
lists, runs three presses side by side on one prompt (/#run starts them), and every column ends with
its answer, tokens/s and KV bytes. Also saves a screenshot (--out DIR/serve_page.png, else a
temporary file) for a person to look at."""
import os
import shutil
import sys
import tempfile

sys.path.insert(0, os.path.dirname(__file__))
from cdp import Browser  # noqa: E402
from serve_util import SKIP, Server, arguments, check  # noqa: E402

ARGS = arguments(__doc__)
COLUMNS_JS = """[...document.querySelectorAll('#columns .col')].map((c) => ({
  press: c.querySelector('.press').value, budget: c.querySelector('.budget').value,
  text: c.querySelector('.out').textContent, error: c.querySelector('.out').classList.contains('error'),
  stats: Object.fromEntries([...c.querySelectorAll('.stats b')].map((b) => [b.className, b.textContent])),
  status: c.querySelector('.status').textContent}))"""


def chromium():
    for name in ["chromium", "chromium-browser", "google-chrome"]:
        path = shutil.which(name)
        if path:
            return path
    return None


def main():
    binary = chromium()
    if binary is None:
        print("SKIP: no chromium (apt-get install chromium)")
        return SKIP
    srv = Server(ARGS.kvpress)
    browser = Browser(binary)
    try:
        browser.open("http://127.0.0.1:%d/#run" % srv.port)
        check(browser.wait_for("document.body.dataset.done === '1'"), "the page did not finish its runs")
        cols = browser.evaluate(COLUMNS_JS)
        for c in cols:
            print(c)
        check([c["press"] for c in cols] == ["full", "snapkv", "streaming_llm"], cols)
        check(all(c["text"] and not c["error"] for c in cols), "a column has no answer")
        for key in ["s-tps", "s-kvpeak", "s-kvlive", "s-tokens", "s-ttft"]:
            check(all(c["stats"][key] not in ("", "–") for c in cols), "%s missing: %r" % (key, cols))
        check(cols[0]["stats"]["s-kvpeak"] != cols[1]["stats"]["s-kvpeak"], "snapkv's KV peak equals the full cache's")
        check(browser.evaluate("document.getElementById('model').textContent").startswith("tiny-reasoner"), "model name")
        out_dir = ARGS.out or tempfile.mkdtemp(prefix="kvpress-page-")
        png = os.path.join(out_dir, "serve_page.png")
        browser.screenshot(png)
        check(os.path.getsize(png) > 10000, "the screenshot is empty")
        print("screenshot:", png)
    finally:
        browser.close()
        srv.close()
    print("PASS page")
    return 0


if __name__ == "__main__":
    sys.exit(main())

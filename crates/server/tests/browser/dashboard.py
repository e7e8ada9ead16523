"""Drives the cc-ci dashboard in headless Chromium; run by tests/dashboard_browser.rs.

Argument: a JSON object {base, chromium, out, live, finished, first_line, later_line}. Prints
READY once the live run's page follows its log (the test then appends `later_line` to log.txt),
SEEN once that line arrived through server-sent events (the test then finishes the run), and
DONE {...} at the end. Any failed check raises, so the exit code is non-zero.
"""
import json
import os
import sys

from playwright.sync_api import sync_playwright

ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def say(*words):
    print(*words, flush=True)


def main():
    a = json.loads(sys.argv[1])
    base, out = a["base"], a["out"]
    live, finished = a["live"], a["finished"]
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=a["chromium"], args=ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.set_default_timeout(15000)

        # The runs list, then its filter form (a plain GET form, no script needed).
        page.goto(base + "/")
        assert page.inner_text("h1") == "Runs", page.inner_text("h1")
        total_rows = page.locator("tbody tr").count()
        assert total_rows == 4, total_rows
        page.screenshot(path=os.path.join(out, "dashboard-runs.png"), full_page=True)
        page.select_option("select[name=state]", "running")
        page.click("button[type=submit]")
        page.wait_for_url("**state=running**")
        assert page.locator("tbody tr").count() == 1

        # The live run: the page shows the log so far, then follows it.
        page.goto(f"{base}/runs/{live}")
        assert a["first_line"] in page.inner_text("#log")
        page.wait_for_function("document.getElementById('live').textContent.includes('Following')")
        say("READY")
        page.wait_for_function("t => document.getElementById('log').textContent.includes(t)", arg=a["later_line"])
        page.screenshot(path=os.path.join(out, "dashboard-run.png"), full_page=True)
        say("SEEN")
        page.wait_for_function("document.getElementById('live').textContent.includes('The run is finished')")
        log = page.inner_text("#log")
        assert log.count(a["first_line"]) == 1, "no line twice: " + log

        # A finished run: its tiers and its screenshot, loaded.
        page.goto(f"{base}/runs/{finished}")
        tiers = page.locator("#tiers tbody tr").count()
        assert tiers == 5, tiers
        # Screenshots load lazily: bring them into view, then wait for every one to be decoded.
        page.locator(".shots img").last.scroll_into_view_if_needed()
        page.wait_for_function(
            "[...document.querySelectorAll('.shots img')].every(i => i.complete && i.naturalWidth > 0)"
        )
        shots = page.eval_on_selector_all(".shots img", "imgs => imgs.map(i => i.complete ? i.naturalWidth : 0)")
        assert shots and all(w > 0 for w in shots), shots
        page.screenshot(path=os.path.join(out, "dashboard-run-finished.png"), full_page=True)

        # The recipes page: every badge image loads.
        page.goto(base + "/recipes")
        page.wait_for_load_state("load")
        badges = page.eval_on_selector_all("img.badge", "imgs => imgs.map(i => i.complete ? i.naturalWidth : 0)")
        assert len(badges) == 2 and all(w > 0 for w in badges), badges
        page.screenshot(path=os.path.join(out, "dashboard-recipes.png"), full_page=True)

        # Without JavaScript the run page still shows the whole log.
        plain = browser.new_context(java_script_enabled=False).new_page()
        plain.goto(f"{base}/runs/{live}")
        text = plain.inner_text("#log")
        assert a["first_line"] in text and a["later_line"] in text, text

        browser.close()
    say("DONE", json.dumps({"runs": total_rows, "tiers": tiers, "badges": badges, "screenshots": shots}))


if __name__ == "__main__":
    main()

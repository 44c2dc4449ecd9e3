"""What every browser test needs: Debian's chromium, logged-in desks, a resident's phone, screenshots.

Pages are found the way a person finds them: by visible Chinese labels, roles and text, never by
CSS ids, so a test breaks when what the user sees breaks, not when markup is tidied.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable
from pathlib import Path

from playwright.sync_api import Browser, BrowserContext, Locator, Page, expect

ROOT = Path(__file__).resolve().parent.parent.parent
# Debian's package, never a downloaded browser (CI installs it with apt-get in .ci/run).
CHROMIUM = Path(os.environ.get("HOTLINE_E2E_CHROMIUM", "/usr/bin/chromium"))
LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
# The password tests/conftest.py gives every persona of the shared City.
PASSWORD = "pw-for-tests-123"
SHOTS_DIR = ROOT / "docs" / "screenshots"
# Normal runs must not rewrite the committed pictures; `make screenshots` sets this.
SHOTS_ENABLED = os.environ.get("HOTLINE_SCREENSHOTS", "").strip().lower() in {"1", "true", "yes", "on"}

DESKTOP = {"viewport": {"width": 1280, "height": 860}}
# A small phone (iPhone SE class) with touch: the rating page has to work one-handed on it.
PHONE = {
    "viewport": {"width": 375, "height": 667},
    "device_scale_factor": 2,
    "is_mobile": True,
    "has_touch": True,
    "user_agent": (
        "Mozilla/5.0 (Linux; Android 13; SM-A145F) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/124.0 Mobile Safari/537.36"
    ),
}
# Short enough that a broken page fails in seconds, long enough for a loaded 2-core machine.
ACTION_TIMEOUT_MS = 15_000
# Assertions wait as long as actions do: expect()'s own 5 s default failed a debounced panel
# (400 ms delay, then a request) while the 2-core machine was busy with a benchmark.
expect.set_options(timeout=ACTION_TIMEOUT_MS)

NO_CHROMIUM = f"{CHROMIUM} is not installed (apt-get install chromium fonts-wqy-microhei; .ci/run does it)"
# For pytest.mark.skipif(**requires_chromium): the only reason these tests may skip.
requires_chromium = {"condition": not CHROMIUM.exists(), "reason": NO_CHROMIUM}


def shot(page: Page, name: str, *, full_page: bool = False, height: int | None = None) -> None:
    """Save docs/screenshots/<name>.png, only when HOTLINE_SCREENSHOTS is set.

    ``height`` keeps only the top of the page (a short page need not ship a screenful of blank).
    """
    if not SHOTS_ENABLED:
        return
    SHOTS_DIR.mkdir(parents=True, exist_ok=True)
    clip = {"x": 0, "y": 0, "width": page.viewport_size["width"], "height": height} if height else None
    if full_page or clip:
        # From the top, or the sticky top bar is drawn across the middle of a long page. Scrolling
        # does not move the keyboard focus.
        page.evaluate("window.scrollTo(0, 0)")
    # The caret blinks and transitions move: freeze both so reruns give the same picture.
    page.screenshot(
        path=str(SHOTS_DIR / f"{name}.png"), full_page=full_page, clip=clip, animations="disabled", caret="hide"
    )


class Session:
    """Browser contexts opened by one test; every page is watched for script errors and server errors."""

    def __init__(self, browser: Browser, base_url: str) -> None:
        self.browser = browser
        self.base_url = base_url
        self.contexts: list[BrowserContext] = []
        self.problems: list[str] = []

    # --- contexts ---------------------------------------------------------------------------------

    def open_page(self, **options) -> Page:
        """A new browser context (its own cookies) and a page in it."""
        ctx = self.browser.new_context(base_url=self.base_url, locale="zh-CN", timezone_id="Asia/Shanghai", **options)
        ctx.set_default_timeout(ACTION_TIMEOUT_MS)
        self.contexts.append(ctx)
        page = ctx.new_page()
        # A JavaScript exception or a 5xx (also from an htmx request) fails the test even when the
        # page happens to look right.
        page.on("pageerror", lambda exc: self.problems.append(f"{page.url}: script error: {exc}"))
        page.on(
            "response",
            lambda r: r.status >= 500 and self.problems.append(f"{r.request.method} {r.url} -> {r.status}"),
        )
        return page

    def desk(self, user) -> Page:
        """A desktop browser logged in as ``user`` through the login form."""
        page = self.open_page(**DESKTOP)
        page.goto("/login/")
        page.get_by_label("用户名").fill(user.username)
        page.get_by_label("密码").fill(PASSWORD)
        page.get_by_role("button", name="登录").click()
        expect(page.get_by_role("button", name="退出")).to_be_visible()
        return page

    def phone(self) -> Page:
        """The resident's phone: no login, touch, a 375 px wide screen."""
        return self.open_page(**PHONE)

    def close(self) -> None:
        for ctx in self.contexts:
            ctx.close()
        self.contexts.clear()

    def assert_no_problems(self) -> None:
        assert not self.problems, "browser saw errors:\n" + "\n".join(self.problems)


# --- keyboard -------------------------------------------------------------------------------------

_FOCUSED = """() => {
  const el = document.activeElement;
  if (!el || el === document.body) return null;
  const label = (el.labels && el.labels.length ? el.labels[0].innerText : el.getAttribute('aria-label')) || '';
  const legend = el.closest('fieldset')?.querySelector('legend')?.innerText || '';
  return {label: label.trim(), group: legend.trim(), checked: !!el.checked};
}"""


def focused(page: Page) -> dict:
    return page.evaluate(_FOCUSED) or {}


def tab_to(page: Page, label: str, *, limit: int = 40) -> dict:
    """Press Tab until the focused control is the one labelled ``label`` (or a radio in that group).

    Fails if it is never reached: a control that Tab cannot reach is a keyboard-user bug.
    """
    for _ in range(limit):
        page.keyboard.press("Tab")
        now = focused(page)
        if now.get("label", "").startswith(label) or now.get("group") == label:
            return now
    raise AssertionError(f"Tab never reached the control labelled {label!r}")


def pick_radio(page: Page, choice: str, *, limit: int = 10) -> None:
    """In the focused radio group, move with the arrow keys until ``choice`` is checked."""
    page.keyboard.press("Space")  # a group with nothing checked yet: take the focused option first
    for _ in range(limit):
        now = focused(page)
        if now.get("label") == choice and now.get("checked"):
            return
        page.keyboard.press("ArrowDown")
    raise AssertionError(f"the arrow keys never reached the option {choice!r}")


# --- waiting for the worker -----------------------------------------------------------------------


def eventually(check: Callable[[], object], *, timeout: float = 30, what: str = "condition") -> object:
    """Poll ``check`` until it returns something truthy (the worker runs in another process)."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.25)


def row_with(page: Page, text: str) -> Locator:
    """The table row that shows ``text`` (a ticket number, usually)."""
    return page.get_by_role("row").filter(has_text=text)


def action_panel(page: Page, summary: str) -> Locator:
    """One foldable action on the ticket page (申请退单, 申请延期, …), unfolded."""
    box = page.locator("details").filter(has=page.locator("summary", has_text=re.compile(f"^{re.escape(summary)}$")))
    if box.get_attribute("open") is None:
        box.locator("summary").click()
    return box

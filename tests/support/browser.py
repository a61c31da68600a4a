"""Helpers for the browser tests."""

from __future__ import annotations

from pathlib import Path

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
DESKTOP = {"width": 1280, "height": 800}
MOBILE = {"width": 360, "height": 740}


def screenshot(page, name: str) -> None:
    """Saves docs/screenshots/<name>-desktop.png and -mobile.png, and checks that the
    page fits 360 px without sideways scrolling."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for label, viewport in (("desktop", DESKTOP), ("mobile", MOBILE)):
        page.set_viewport_size(viewport)
        page.evaluate("document.fonts.ready")
        overflow = page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 0, (
            f"{name} scrolls sideways by {overflow}px at {viewport['width']}px"
        )
        page.screenshot(path=SCREENSHOTS / f"{name}-{label}.png", full_page=True)
    page.set_viewport_size(DESKTOP)


def log_in(page, username: str, password: str) -> None:
    page.goto("/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/")


def wait_for_result(page, *, after: str | None = None, timeout: float = 30_000) -> str:
    """Waits until the status card shows a finished synthesis (other than `after`, the
    id shown before); returns its status."""
    page.wait_for_function(
        """(previous) => {
          const card = document.querySelector("#synthesis-status");
          return card && card.dataset.synthesis !== previous
            && !["queued", "running"].includes(card.dataset.status);
        }""",
        arg=after,
        timeout=timeout,
    )
    return page.get_attribute("#synthesis-status", "data-status")

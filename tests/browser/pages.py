"""What the browser tests share: Chromium's settings, the app's URL, and a tab that records
the dialogs it opens and the requests it sends off this machine (both must stay empty)."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from corpus import ROOT

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]
SCREENSHOTS = ROOT / "test-output" / "screenshots"
START_TIMEOUT = 600  # first start builds the index and loads the model; CI machines are slow
ANSWER_TIMEOUT = 120_000  # ms
LOCAL = {"127.0.0.1", "localhost", "::1", "[::1]"}
@dataclass
class Server:
    url: str
    source: Path
    index: Path
    log: Path


@dataclass
class Session:
    """One browser tab on the app, with what it did that it must not do."""

    page: object
    dialogs: list = field(default_factory=list)
    outside_requests: list = field(default_factory=list)

    def ask(self, question: str):
        """Type a question, send it, and return the locator of the answer it gets."""
        answers = self.page.locator(".qa-answer")
        before = answers.count()
        self.page.locator("#qa-question textarea").fill(question)
        self.page.locator("#qa-ask").click()
        self.page.wait_for_function(f"document.querySelectorAll('.qa-answer').length > {before}",
                                    timeout=ANSWER_TIMEOUT)
        return answers.nth(before)


def direction(locator) -> str:
    return locator.evaluate("e => getComputedStyle(e).direction")



"""Browser tests: the real app in a subprocess, driven by Debian's Chromium through Playwright.

* ``live_server``: the app served by werkzeug on 127.0.0.1 (a free port) against the test
  database (``database_url`` from tests/conftest.py: SQLite file or AIS_TEST_DATABASE_URL),
  emptied once before the browser tests start; ``.url`` and ``.log()`` (its stderr).
* ``browser``: one headless Chromium for the session (/usr/bin/chromium; missing = failure).
* ``ui``: per test: ``ui.desktop()`` / ``ui.phone()`` open browser contexts (1280x900 and
  375x812) whose pages report console errors and uncaught exceptions into ``ui.errors``;
  ``ui.shot(page, name)`` saves test-output/screenshots/<name>-<desktop|375>.png and runs
  axe-core (WCAG 2 A/AA rules) on the page: a serious or critical violation is an error;
  ``ui.shots(page, name)`` saves both widths (the 375 one in a phone context with the same
  cookies) and returns the phone page's scroll width; ``ui.assert_clean()`` fails on any JS
  error, CSP violation, accessibility violation, 5xx response or server traceback seen during
  the test.
* With ``AIS_DOC_SCREENSHOTS=1`` (``make screenshots``), the desktop shots named in ``DOC_SHOTS``
  are also copied to docs/images/<name>.png, the pictures docs/USER_GUIDE.md shows.
* ``owner`` (session) / ``make_user``: users put straight into the database.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import selectors
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
from decimal import Decimal
from pathlib import Path

import pytest
from axe_playwright_python.sync_playwright import Axe

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "test-output" / "screenshots"
DOC_IMAGES = ROOT / "docs" / "images"
# The journey's desktop screenshots that docs/USER_GUIDE.md shows (copied only with AIS_DOC_SCREENSHOTS=1).
DOC_SHOTS = frozenset(
    {
        "01-login",
        "04-client-form",
        "05-client-detail-new",
        "06-invoice-form",
        "07-invoice-detail-owner",
        "09-client-detail-invitation",
        "10-invitation",
        "11-portal-dashboard",
        "13-portal-invoice",
        "14-portal-report-form",
        "16-payments-to-confirm",
        "17-invoice-detail-owner-paid",
        "18-portal-payments",
    }
)
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 375, "height": 812}
SERVER_START_TIMEOUT = 20.0
AXE = Axe()  # axe-core, shipped inside the package (no network)
AXE_OPTIONS = {
    "runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]},
    "resultTypes": ["violations"],
}
BLOCKING_IMPACTS = ("serious", "critical")

# The child process: binds a free port first (so AIS_BASE_URL can name it), then builds the app
# exactly as `flask --app ais run` would (settings from the environment) and serves it.
SERVER_SCRIPT = r"""
import os
from werkzeug.serving import make_server

holder = {}
server = make_server("127.0.0.1", 0, lambda environ, start: holder["app"](environ, start), threaded=True)
port = server.server_port
os.environ["AIS_BASE_URL"] = f"http://127.0.0.1:{port}"

from ais import create_app

app = create_app()
app.instance_path = os.environ["E2E_INSTANCE_PATH"]  # outbox files and the like stay out of ./instance
os.makedirs(app.instance_path, exist_ok=True)
holder["app"] = app
print(f"PORT {port}", flush=True)
server.serve_forever()
"""


def _top_level_conftest(config):
    """tests/conftest.py as pytest loaded it (it is not importable as a package module)."""
    wanted = (ROOT / "tests" / "conftest.py").resolve()
    for plugin in config.pluginmanager.get_plugins():
        path = getattr(plugin, "__file__", None)
        if path and Path(path).resolve() == wanted:
            return plugin
    raise RuntimeError("tests/conftest.py is not loaded")


def pytest_configure(config):
    """Give the module name "conftest" back to tests/conftest.py once this file is loaded.

    Both files are imported as "conftest" (tests/ is not a package), and the last one loaded
    keeps the name, so a test module elsewhere that does ``from conftest import Actions`` would
    get this file instead.  (This hook runs as soon as pytest registers this file.)
    """
    sys.modules["conftest"] = _top_level_conftest(config)


@pytest.fixture(scope="session")
def e2e_app(database_url, request):
    """An app object in this process, for putting rows into the test database and emptying it."""
    from ais import create_app
    from ais.extensions import db

    app = create_app({"SQLALCHEMY_DATABASE_URI": database_url, "TESTING": True})
    with app.app_context():
        _top_level_conftest(request.config).empty_all_tables()
        db.session.remove()
        db.engine.dispose()
    yield app
    with app.app_context():
        db.session.remove()
        _top_level_conftest(request.config).empty_all_tables()
        db.engine.dispose()


@pytest.fixture(scope="session")
def live_server(e2e_app, database_url, tmp_path_factory):
    """The real app in a subprocess on 127.0.0.1 (a LiveServer: .url, .log()); stopped at the end."""
    instance = tmp_path_factory.mktemp("e2e-instance")
    env = dict(os.environ)
    for name in list(env):
        if name.startswith("FLASK_"):
            env.pop(name)
    env.update(
        {
            "DATABASE_URL": database_url,
            "FLASK_SESSION_COOKIE_SECURE": "false",
            "SECRET_KEY": secrets.token_hex(32),
            "MAIL_SERVER": "",
            "AIS_ENV": "development",
            "RATELIMIT_STORAGE_URI": "memory://",
            "E2E_INSTANCE_PATH": str(instance),
            "PYTHONUNBUFFERED": "1",
        }
    )
    stderr_path = instance / "server-stderr.log"
    stderr = open(stderr_path, "w+b")  # noqa: SIM115 -- the server writes to it until it stops
    process = subprocess.Popen(
        [sys.executable, "-c", SERVER_SCRIPT],
        cwd=str(ROOT),
        env=env,
        stdout=subprocess.PIPE,
        stderr=stderr,
    )

    def server_output() -> str:
        stderr.flush()
        return stderr_path.read_text(errors="replace")[-4000:]

    try:
        base_url = _wait_for_server(process, server_output)
        yield LiveServer(base_url, stderr_path)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)
        stderr.close()


class LiveServer:
    def __init__(self, url: str, log_path: Path):
        self.url = url
        self.log_path = log_path

    def log(self) -> str:
        """What the server wrote to stderr so far (request lines, warnings, tracebacks)."""
        return self.log_path.read_text(errors="replace")


def _wait_for_server(process, server_output) -> str:
    deadline = time.monotonic() + SERVER_START_TIMEOUT
    selector = selectors.DefaultSelector()
    selector.register(process.stdout, selectors.EVENT_READ)
    port = None
    line = b""
    while time.monotonic() < deadline and port is None:
        if process.poll() is not None:
            pytest.fail(f"The e2e server exited with code {process.returncode}:\n{server_output()}")
        if selector.select(timeout=0.2):
            chunk = os.read(process.stdout.fileno(), 200)
            line += chunk
            match = re.search(rb"PORT (\d+)\n", line)
            if match:
                port = int(match.group(1))
    if port is None:
        pytest.fail(f"The e2e server did not start within {SERVER_START_TIMEOUT:.0f} s:\n{server_output()}")
    base_url = f"http://127.0.0.1:{port}"
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"The e2e server exited with code {process.returncode}:\n{server_output()}")
        try:
            with urllib.request.urlopen(base_url + "/healthz", timeout=2) as response:
                if response.status == 200:
                    return base_url
        except (TimeoutError, urllib.error.URLError, ConnectionError, OSError):
            pass
        time.sleep(0.1)
    pytest.fail(f"{base_url}/healthz did not answer 200 within {SERVER_START_TIMEOUT:.0f} s:\n{server_output()}")


@pytest.fixture(scope="session")
def browser():
    if not os.path.exists(CHROMIUM):
        pytest.fail(
            f"{CHROMIUM} is missing: the browser tests need Debian's Chromium. "
            "Install it with `make browser` (or `apt-get install chromium`); `make test` does it for you.",
            pytrace=False,
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


class BrowserSession:
    """Contexts for one test, with console/JS errors collected from every page they open."""

    def __init__(self, browser, server: LiveServer):
        self.browser = browser
        self.server = server
        self.base_url = server.url
        self.contexts = []
        self.errors: list[str] = []
        self.accessibility_checked: list[str] = []
        self._log_start = len(server.log())

    # --- contexts and pages ---------------------------------------------------------------------
    def _context(self, viewport: dict, storage_state=None):
        context = self.browser.new_context(
            base_url=self.base_url,
            viewport=viewport,
            storage_state=storage_state,
            locale="en-US",
            timezone_id="Asia/Manila",
        )
        context.set_default_timeout(10_000)
        context.on("page", self._watch)
        self.contexts.append(context)
        return context

    def desktop(self, storage_state=None):
        return self._context(DESKTOP, storage_state)

    def phone(self, storage_state=None):
        return self._context(PHONE, storage_state)

    def _watch(self, page) -> None:
        def on_console(message):
            if message.type == "error":
                self.errors.append(f"console error on {page.url}: {message.text}")

        def on_page_error(error):
            self.errors.append(f"uncaught JS error on {page.url}: {error}")

        def on_dialog(dialog):  # data-confirm forms ask with window.confirm: a person says yes
            dialog.accept()

        def on_response(response):
            if response.status >= 500:
                self.errors.append(f"HTTP {response.status} from {response.request.method} {response.url}")

        page.on("console", on_console)
        page.on("pageerror", on_page_error)
        page.on("dialog", on_dialog)
        page.on("response", on_response)

    def assert_clean(self) -> None:
        """No page logged a JS error or CSP violation, no response was a 5xx, the server logged no traceback."""
        problems = list(self.errors)
        server_log = self.server.log()[self._log_start :]
        if "Traceback" in server_log:
            problems.append("the server logged a traceback:\n" + server_log[server_log.index("Traceback") :][:4000])
        assert not problems, "\n".join(problems)

    # --- screenshots ----------------------------------------------------------------------------
    @staticmethod
    def width_label(page) -> str:
        width = (page.viewport_size or DESKTOP)["width"]
        return "375" if width <= PHONE["width"] else "desktop"

    def shot(self, page, name: str) -> Path:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{name}-{self.width_label(page)}.png"
        page.screenshot(path=str(path), full_page=True)
        if os.environ.get("AIS_DOC_SCREENSHOTS") == "1" and name in DOC_SHOTS and self.width_label(page) == "desktop":
            DOC_IMAGES.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, DOC_IMAGES / f"{name}.png")
        self.check_accessibility(page, name)
        return path

    def check_accessibility(self, page, name: str) -> list[dict]:
        """Run axe-core on the page as it is now; serious and critical violations go to ``errors``."""
        violations = AXE.run(page, options=AXE_OPTIONS).response["violations"]
        label = f"{name} at {self.width_label(page)}"
        self.accessibility_checked.append(label)
        for violation in violations:
            if violation.get("impact") in BLOCKING_IMPACTS:
                nodes = "; ".join(" ".join(map(str, node.get("target", []))) for node in violation["nodes"][:5])
                self.errors.append(
                    f"axe {violation['id']} ({violation['impact']}) on {label}: {violation['help']} — {nodes}"
                )
        return violations

    def shots(self, page, name: str) -> int:
        """Screenshots at both widths; the 375 one is the same URL in a phone context with the
        same cookies.  Returns the phone page's document scroll width (375 means no sideways scroll)."""
        self.shot(page, name)
        phone = self.phone(storage_state=page.context.storage_state())
        try:
            small = phone.new_page()
            small.goto(page.url)
            small.wait_for_load_state("load")
            self.shot(small, name)
            return scroll_width(small)
        finally:
            phone.close()
            self.contexts.remove(phone)

    def close(self) -> None:
        for context in self.contexts:
            with contextlib.suppress(Exception):  # already closed with the browser
                context.close()


def scroll_width(page) -> int:
    return page.evaluate("document.documentElement.scrollWidth")


@pytest.fixture
def ui(browser, live_server):
    session = BrowserSession(browser, live_server)
    yield session
    session.close()


def _hash_password(password: str) -> str:
    try:
        from ais.auth.passwords import hash_password
    except ImportError:  # the sign-in area not written yet: the same argon2 hash
        from argon2 import PasswordHasher

        return PasswordHasher().hash(password)
    return hash_password(password)


def _add_user(app, username: str, password: str, role: str, client_id: int | None = None) -> int:
    from ais.extensions import db
    from ais.models import User

    with app.app_context():
        user = User(username=username, role=role, client_id=client_id, password_hash=_hash_password(password))
        db.session.add(user)
        db.session.commit()
        user_id = user.id
        db.session.remove()
        db.engine.dispose()
    return user_id


# A complete, VAT-registered seller: what tests that make their books in the database (not through
# the pages) need while they issue invoices.
E2E_PROFILE = {
    "registered_name": "E2E Trading Corp.",
    "trade_name": "E2E Trading",
    "tin": "123-456-789-00000",
    "address": "1 Ayala Avenue, Makati City 1226",
    "vat_registered": True,
    "vat_rate": Decimal("12.00"),
    "prices_include_vat": True,
    "footer": "",
    "logo_type": "",
}


@pytest.fixture(scope="session")
def issuing_profile(e2e_app):
    """``with issuing_profile():`` a complete business profile while invoices are issued straight
    in the database; taken away afterwards if it was not there, because the browser journey starts
    from an owner who has not completed it yet."""

    @contextlib.contextmanager
    def issuing():
        from sqlalchemy import delete

        from ais.extensions import db
        from ais.models import BusinessProfile

        with e2e_app.app_context():
            added = db.session.get(BusinessProfile, 1) is None
            if added:
                db.session.add(BusinessProfile(id=1, **E2E_PROFILE))
                db.session.commit()
            try:
                yield
            finally:
                if added:
                    db.session.execute(delete(BusinessProfile).where(BusinessProfile.id == 1))
                    db.session.commit()
                db.session.remove()

    return issuing


@pytest.fixture
def make_user(e2e_app):
    """make_user(username, password, role="owner", client_id=None) -> id, straight into the database."""

    def make(username: str, password: str, role: str = "owner", client_id: int | None = None) -> int:
        return _add_user(e2e_app, username, password, role, client_id)

    return make


class Person:
    def __init__(self, username: str, password: str, user_id: int):
        self.username = username
        self.password = password
        self.id = user_id


@pytest.fixture(scope="session")
def owner(e2e_app) -> Person:
    """The business owner, created straight in the database once per run."""
    username, password = "owner@example.com", "Owner-Pass-2026!"
    return Person(username, password, _add_user(e2e_app, username, password, "owner"))

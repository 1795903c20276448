"""Staff users for the browser tests, and signing in through the sign-in page."""

from __future__ import annotations

from sqlalchemy.orm import Session

from api.auth.service import create_user
from api.db.session import make_engine
from tests.web.cdp import Browser, CDPError

PASSWORD = "browser test password"


def make_user(database_url: str, name: str, role: str = "admin", **kw: object) -> None:
    """Create (and commit) a user with :data:`PASSWORD` in the live server's database."""
    engine = make_engine(database_url, pool_size=1)
    try:
        with Session(engine) as session:
            create_user(session, name=name, role=role, password=PASSWORD, **kw)  # type: ignore
            session.commit()
    finally:
        engine.dispose()


def wait_across_navigation(page: Browser, expression: str, timeout: float = 60.0) -> object:
    """Like ``page.wait_for``, tolerating the moments a navigation destroys the page."""
    import time

    deadline = time.monotonic() + timeout
    while True:
        try:
            return page.wait_for(expression, timeout=max(0.5, deadline - time.monotonic()))
        except CDPError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.25)


def fill_sign_in(page: Browser, name: str, password: str) -> None:
    """Type a name and password into the sign-in form and submit it."""
    wait_across_navigation(page, "window.gridgovSignInReady === true")
    page.evaluate(f"document.getElementById('sign-in-name').value = {name!r};"
                  f"document.getElementById('sign-in-password').value = {password!r};"
                  "document.getElementById('sign-in-submit').click(); true")


def sign_in(page: Browser, base: str, name: str, password: str = PASSWORD) -> None:
    """Sign in through the form and wait for the one-map of the signed-in user."""
    page.navigate(f"{base}/sign-in")
    fill_sign_in(page, name, password)
    wait_across_navigation(page, "window.gridgovReady === true && "
                                 f"(document.getElementById('user-name') || {{}}).textContent "
                                 f"=== {name!r}")

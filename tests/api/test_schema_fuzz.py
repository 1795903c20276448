"""Property-based run of the whole OpenAPI schema (schemathesis), anonymous and as an admin.

Every operation the app documents is called with generated inputs, valid and invalid
(schemathesis' ``all`` mode: examples, coverage of boundaries and random fuzzing), once
without credentials and once with an admin's bearer token. Each response must pass four
checks: no 5xx, a status code the operation documents, a documented content type and a
body that matches the documented schema of that status.

The run is deterministic (fixed seed, derandomized Hypothesis, no example database) and
bounded: ``MAX_EXAMPLES`` random examples per operation, fewer for the analytics routes
that compute for real (``HEAVY``), no shrinking; each request must answer within
schemathesis' 10 s. It runs on a database of its own, loaded with the small sample town
and dropped afterwards, so nothing it writes reaches the other tests.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from schemathesis.checks import not_a_server_error
from schemathesis.python import asgi
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from sqlalchemy.orm import Session

from api.auth.service import create_user
from api.db.session import make_engine
from api.io.samples import load_directory
from api.main import create_app
from testkit.databases import migrated_database
from tests.api.events_support import event_settings

#: random examples per operation and run (on top of the schema's examples and boundaries)
MAX_EXAMPLES = 5
#: the analytics routes compute for real (coverage, placement, hot spots): fewer examples
HEAVY = r"^/api/v1/analytics/"
HEAVY_EXAMPLES = 2

CONFIG = f"""
seed = 20261201

[generation]
mode = "all"
max-examples = {MAX_EXAMPLES}
deterministic = true
no-shrink = true
database = "none"

[phases.coverage]
# boundaries and type mutations of every documented parameter; not other HTTP methods
# on each path (Starlette's 405) nor repeated query parameters
unexpected-methods = []
generate-duplicate-query-parameters = false

[phases.stateful]
enabled = false

[[operations]]
include-path-regex = "{HEAVY}"
generation = {{ max-examples = {HEAVY_EXAMPLES} }}
"""

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance]


@pytest.fixture(scope="module")
def fuzz_app(server_url: str, sample_dir: Path,
             tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[FastAPI, str]]:
    """The app on a database of its own with the sample town, and an admin's token."""
    with migrated_database(server_url, "gridgov_fuzz") as url:
        engine = make_engine(url, pool_size=5)
        load_directory(engine, sample_dir)
        with Session(engine) as session:
            _, token = create_user(session, name="fuzz-admin", role="admin")
            session.commit()
        app = create_app(event_settings(url, tmp_path_factory.mktemp("fuzz-photos")),
                         engine=engine)
        try:
            yield app, token
        finally:
            asgi.shutdown_lifespans()  # schemathesis started the app's lifespan
            engine.dispose()


#: the app's OpenAPI, built without a database (the test below checks the app serves it);
#: loaded at import because ``schemathesis.pytest.from_fixture`` fails on pytest 9.2
SPEC = create_app().openapi()
schema = schemathesis.openapi.from_dict(SPEC, config=schemathesis.Config.from_str(CONFIG))


@schema.parametrize()
def test_anonymous(case: schemathesis.Case, fuzz_app: tuple[FastAPI, str]) -> None:
    case.call_and_validate(app=fuzz_app[0], checks=CHECKS)


@schema.parametrize()
def test_admin(case: schemathesis.Case, fuzz_app: tuple[FastAPI, str]) -> None:
    app, token = fuzz_app
    case.call_and_validate(app=app, headers={"Authorization": f"Bearer {token}"}, checks=CHECKS)


def test_the_fuzzed_schema_is_the_one_the_app_serves(fuzz_app: tuple[FastAPI, str]) -> None:
    served = TestClient(fuzz_app[0]).get("/openapi.json")  # no lifespan needed
    assert served.status_code == 200
    assert served.json() == SPEC

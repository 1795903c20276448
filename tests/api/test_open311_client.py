"""Real GeoReport v2 client libraries against a real server (uvicorn subprocess, fresh DB).

Two client libraries from PyPI are used as an integrator would: ``civicbot``'s
``Open311Client`` (JSON; lists services, posts a request with an api_key,
fetches it back and resolves its token) and ``georeport``'s ``GeoReport``
(read-only; used in both JSON and XML, so the XML element names are what a
real parser expects). The POST is also made as a plain form post, as in the
spec's examples.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from civicbot.http import HttpError, HttpTransport, RateLimiter
from civicbot.open311 import CONFIRM_TOKEN, Open311Client
from civicbot.registry import Endpoint
from georeport import GeoReport
from sqlalchemy import text
from sqlalchemy.orm import Session

from api.db.migrate import upgrade
from api.db.session import make_engine
from api.io.samples import load_directory
from api.open311.keys import create_key
from testkit.databases import create_database, drop_database
from tests.api.open311_schemas import assert_valid, validator

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_healthy(url: str, proc: subprocess.Popen[bytes], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited early with code {proc.returncode}")
        try:
            if requests.get(f"{url}/healthz", timeout=2).status_code == 200:
                return
        except requests.ConnectionError:
            pass
        time.sleep(0.3)
    raise TimeoutError(f"server at {url} not healthy after {timeout} s")


@pytest.fixture(scope="module")
def server(server_url: str, sample_dir: Path) -> Iterator[dict[str, str]]:
    """A uvicorn server on a fresh database with the small sample and one API key."""
    name = f"gridgov_o311_{uuid.uuid4().hex[:8]}"
    url = create_database(server_url, name)
    proc: subprocess.Popen[bytes] | None = None
    try:
        upgrade(url)
        engine = make_engine(url, pool_size=2)
        load_directory(engine, sample_dir)
        with Session(engine) as session:
            _, key = create_key(session, "client library test")
            point = session.execute(text(
                "SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_PointOnSurface(g.geom) AS p FROM grids g "
                "JOIN grid_layers l ON l.id = g.layer_id WHERE l.exclusive "
                "ORDER BY g.code DESC LIMIT 1) t")).one()
            session.commit()
        engine.dispose()
        port = _free_port()
        base = f"http://127.0.0.1:{port}"
        env = {**os.environ, "DATABASE_URL": url, "GRIDGOV_PUBLIC_BASE_URL": base,
               "GRIDGOV_OPEN311_PUBLIC_DETAILS": "true"}  # a district that publishes them
        proc = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "api.main:app_from_env", "--factory",
             "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"],
            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        _wait_healthy(base, proc)
        yield {"base": base, "endpoint": f"{base}/open311/v2", "key": key, "db": url,
               "lon": str(point[0]), "lat": str(point[1])}
    finally:
        if proc is not None:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        drop_database(server_url, name)


def _civicbot(server: dict[str, str]) -> Open311Client:
    endpoint = Endpoint(id="gridgov-test", name="gridgov", base_url=server["endpoint"],
                        write=True)
    transport = HttpTransport(rate_limiter=RateLimiter(min_interval=0.0))
    return Open311Client(endpoint, transport, jurisdiction_id="gridgov")


def test_civicbot_client_lists_services_posts_a_request_and_reads_it_back(
        server: dict[str, str]) -> None:
    client = _civicbot(server)
    services = client.list_services()
    assert_valid(validator("services.json"), services)
    codes = {s["service_code"] for s in services}
    assert "0101" in codes
    definition = client.get_service_definition("0101")
    assert_valid(validator("service-definition.json"), definition)
    sent = client.create_request(
        "0101", dry_run=False, confirm=CONFIRM_TOKEN, api_key=server["key"],
        validate_remote=True, lat=float(server["lat"]), lng=float(server["lon"]),
        description="路边垃圾堆积 rubbish piled at the roadside", email="x@example.cn",
        first_name="Wei", last_name="Zhang", phone="13912345678",
        media_url="https://photos.example.cn/rubbish.jpg")
    (created,) = sent.response
    request_id, token = created["service_request_id"], created["token"]
    fetched = client.get_request(request_id)
    assert fetched is not None
    assert_valid(validator("request.json"), fetched)
    assert fetched["service_code"] == "0101" and fetched["status"] == "open"
    assert fetched["lat"] == pytest.approx(float(server["lat"]))
    assert fetched["media_url"] == "https://photos.example.cn/rubbish.jpg"
    assert fetched["requested_datetime"].endswith("+08:00")
    assert "13912345678" not in str(fetched) and "Zhang" not in str(fetched)
    assert client.get_token(token) == [{"service_request_id": request_id, "token": token}]
    listed = client.list_requests(service_request_ids=[request_id])
    assert [r["service_request_id"] for r in listed] == [request_id]
    recent = client.list_requests(service_code="0101", status="open")
    assert request_id in {r["service_request_id"] for r in recent}


def test_civicbot_client_sees_the_error_array_for_a_bad_key(server: dict[str, str]) -> None:
    client = _civicbot(server)
    with pytest.raises(HttpError) as info:
        client.create_request("0101", dry_run=False, confirm=CONFIRM_TOKEN, api_key="wrong",
                              lat=float(server["lat"]), lng=float(server["lon"]))
    assert info.value.status == 403
    assert '"code":403' in info.value.body.replace(" ", "")


@pytest.mark.parametrize(("output_format", "code"), [("json", "0201"), ("xml", "0205")])
def test_georeport_client_reads_services_and_requests(server: dict[str, str],
                                                      output_format: str, code: str) -> None:
    posted = requests.post(f"{server['endpoint']}/requests.json", data={
        "api_key": server["key"], "service_code": code, "lat": server["lat"],
        "long": server["lon"], "description": "路灯/道路损坏 broken street furniture"},
        timeout=10)
    assert posted.status_code == 200, posted.text
    request_id = posted.json()[0]["service_request_id"]
    client = GeoReport(server["endpoint"], jurisdiction="gridgov", output_format=output_format)
    services = client.get_service_list()
    assert {"0101", code} <= {s["service_code"] for s in services}
    definition = client.get_service_definition(code)
    assert definition["service_code"] == code
    one = client.get_service_request(request_id)
    assert one["service_request_id"] == request_id and one["service_code"] == code
    assert one["status"] == "open" and one["requested_datetime"].endswith("+08:00")
    assert float(one["long"]) == pytest.approx(float(server["lon"]))
    listed = client.get_service_requests(service_code=code)
    listed = listed if isinstance(listed, list) else [listed]
    assert request_id in {r["service_request_id"] for r in listed}


def test_apikey_cli_creates_lists_and_revokes_keys_the_server_honours(
        server: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from api.cli import app

    monkeypatch.setenv("DATABASE_URL", server["db"])
    runner = CliRunner()
    created = runner.invoke(app, ["apikey", "create", "--name", "city hotline 12345"])
    assert created.exit_code == 0, created.output
    key = created.output.strip().splitlines()[-1]
    form = {"service_code": "0301", "lat": server["lat"], "long": server["lon"],
            "description": "火情 smoke from a window"}
    ok = requests.post(f"{server['endpoint']}/requests.json", data=form | {"api_key": key},
                       timeout=10)
    assert ok.status_code == 200, ok.text
    listed = runner.invoke(app, ["apikey", "list"])
    assert listed.exit_code == 0 and "city hotline 12345" in listed.output
    assert key not in listed.output
    revoked = runner.invoke(app, ["apikey", "revoke", "--", key[:8]])  # a key may start "-"
    assert revoked.exit_code == 0, revoked.output
    refused = requests.post(f"{server['endpoint']}/requests.json",
                            data=form | {"api_key": key}, timeout=10)
    assert refused.status_code == 403 and refused.json()[0]["code"] == 403
    unknown = runner.invoke(app, ["apikey", "revoke", "no-such-key"])
    assert unknown.exit_code != 0

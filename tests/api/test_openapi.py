"""The OpenAPI document lists the errors each route really answers, with their real body."""

from __future__ import annotations

from typing import Any

import jsonschema
import pytest
from fastapi.testclient import TestClient

from api.main import create_app

SPEC = create_app().openapi()


def _responses(method: str, path: str) -> dict[str, Any]:
    responses: dict[str, Any] = SPEC["paths"][path][method]["responses"]
    return responses


def _schema(response: dict[str, Any], media: str = "application/json") -> dict[str, Any]:
    schema: dict[str, Any] = response["content"][media]["schema"]
    if "$ref" in schema:
        schema = SPEC["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


def test_errors_are_documented_by_the_kind_of_route() -> None:
    assert sorted(_responses("get", "/healthz")) == ["200", "401", "503"]
    staff_with_body = _responses("post", "/api/v1/analytics/camera-placement")
    assert {"400", "401", "403", "404", "413", "422", "429", "503"} <= set(staff_with_body)
    assert {"404", "422"} <= set(_responses("get", "/tiles/{layers}.json"))
    assert "403" not in _responses("get", "/tiles/{layers}.json")  # public
    assert "415" in _responses("post", "/api/v1/buildings/scan")  # uploads
    assert "HTTPValidationError" not in SPEC["components"]["schemas"]  # not our body


def test_a_documented_error_is_the_body_the_route_answers(client: TestClient) -> None:
    resp = client.get("/api/v1/events")  # anonymous on a staff route
    assert resp.status_code == 401
    jsonschema.validate(resp.json(), _schema(_responses("get", "/api/v1/events")["401"]))
    bad = client.get("/api/v1/grids", params={"limit": "many"})
    assert bad.status_code == 422
    jsonschema.validate(bad.json(), _schema(_responses("get", "/api/v1/grids")["422"]))


def test_a_body_that_cannot_be_parsed_is_400_as_documented(client: TestClient) -> None:
    resp = client.post("/api/v1/track/nosuchtoken/evaluation", content=b"\xff{",
                       headers={"Content-Type": "application/json"})
    assert resp.status_code == 400
    assert resp.json()["code"] == "invalid_body"  # was the vague http_error
    assert "400" in _responses("post", "/api/v1/track/{token}/evaluation")


@pytest.mark.parametrize("path", ["/open311/v2/services.{fmt}",
                                  "/open311/v2/requests/{service_request_id}.{fmt}"])
def test_open311_documents_its_own_error_format_and_400(path: str) -> None:
    responses = _responses("get", path)
    assert "422" not in responses and "400" in responses
    assert _schema(responses["400"])["type"] == "array"
    assert "application/xml" in responses["404"]["content"]
    assert "application/xml" in responses["200"]["content"]


def test_open311_post_documents_its_form() -> None:
    body = SPEC["paths"]["/open311/v2/requests.{fmt}"]["post"]["requestBody"]
    form = body["content"]["application/x-www-form-urlencoded"]["schema"]
    assert {"api_key", "service_code", "lat", "long", "description"} <= set(form["properties"])


def test_ogc_documents_400_for_parameters_and_its_media_types() -> None:
    items = _responses("get", "/ogc/collections/{collection_id}/items")
    assert "400" in items and "422" not in items
    assert set(items["200"]["content"]) == {"application/geo+json", "text/html"}


def test_the_plate_page_answers_its_404_as_a_page(client: TestClient) -> None:
    resp = client.get("/b/NOSUCHCODE")
    assert resp.status_code == 404 and resp.headers["content-type"].startswith("text/html")
    assert "text/html" in _responses("get", "/b/{code}")["404"]["content"]

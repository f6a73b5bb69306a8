import http.client
import json
import logging
import socket
from typing import Any

import pytest

from docqa import api
from docqa.api import MAX_URL_CHARS, DocQAServer, Response, route
from docqa.service import RetrievalService


def request(
    server: DocQAServer, path: str
) -> tuple[int, http.client.HTTPMessage, bytes]:
    """Send a raw GET (no client-side path normalisation) and return the response."""
    connection = http.client.HTTPConnection("127.0.0.1", server.server_port, timeout=5)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        return response.status, response.headers, response.read()
    finally:
        connection.close()


def body_json(response: Response) -> Any:
    return json.loads(response.body)


def test_health(service: RetrievalService) -> None:
    response = route(service, "/health")
    assert response.status == 200
    assert body_json(response) == {"status": "ok", "chunks": service.chunk_count}


def test_search_returns_ranked_results(service: RetrievalService) -> None:
    response = route(service, "/search?q=rotate+api+keys&k=2")
    payload = body_json(response)
    assert response.status == 200
    assert payload["query"] == "rotate api keys"
    assert payload["results"][0]["source"] == "keys.md"
    assert len(payload["results"]) <= 2


def test_search_defaults_k(service: RetrievalService) -> None:
    payload = body_json(route(service, "/search?q=the+service"))
    assert 1 <= len(payload["results"]) <= api.DEFAULT_TOP_K


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("/search", "missing parameter 'q'"),
        ("/search?q=", "must not be empty"),
        ("/search?q=a&q=b", "must be given once"),
        ("/search?q=keys&k=abc", "positive integer"),
        ("/search?q=keys&k=-1", "positive integer"),
        ("/search?q=keys&k=0", "top_k must be between"),
        ("/search?q=keys&k=1000", "top_k must be between"),
        ("/search?" + "&".join(f"p{i}=1" for i in range(11)), "too many"),
    ],
)
def test_search_validation_errors(
    service: RetrievalService, path: str, message: str
) -> None:
    response = route(service, path)
    assert response.status == 400
    assert message in body_json(response)["error"]


def test_document_is_served_as_text(service: RetrievalService) -> None:
    response = route(service, "/documents/guides/deploy.txt")
    assert response.status == 200
    assert response.content_type == "text/plain; charset=utf-8"
    assert response.body.decode("utf-8").startswith("Deployment guide.")


def test_percent_encoded_document_path(service: RetrievalService) -> None:
    assert route(service, "/documents/guides%2Fbilling.md").status == 200


@pytest.mark.parametrize(
    "path",
    [
        "/documents/../outside-secret.txt",
        "/documents/%2e%2e/outside-secret.txt",
        "/documents/%2E%2E%2Foutside-secret.txt",
        "/documents/guides/%2e%2e/%2e%2e/outside-secret.txt",
        "/documents//etc/passwd",
        "/documents/%2Fetc%2Fpasswd",
        "/documents/..%5Coutside-secret.txt",
        "/documents/keys.md%00.txt",
        "/documents/%ff",
        "/documents/",
    ],
)
def test_traversal_attempts_are_bad_requests(
    service: RetrievalService, path: str
) -> None:
    response = route(service, path)
    assert response.status == 400
    assert b"secret" not in response.body


@pytest.mark.parametrize(
    "path",
    [
        "/documents/leak.md",
        "/documents/%252e%252e/outside-secret.txt",
        "/documents/x.md",
    ],
)
def test_unknown_documents_are_not_found(service: RetrievalService, path: str) -> None:
    response = route(service, path)
    assert response.status == 404
    assert body_json(response) == {"error": "document not found"}


def test_unknown_endpoint(service: RetrievalService) -> None:
    assert route(service, "/admin").status == 404


def test_url_too_long(service: RetrievalService) -> None:
    assert route(service, "/search?q=" + "a" * MAX_URL_CHARS).status == 414


def test_http_round_trip(server: DocQAServer) -> None:
    status, headers, body = request(server, "/search?q=invoices&k=1")
    assert status == 200
    assert headers["Content-Type"] == "application/json"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert int(headers["Content-Length"]) == len(body)
    assert json.loads(body)["results"][0]["source"] == "guides/billing.md"


def test_http_traversal_is_refused(server: DocQAServer) -> None:
    status, _, body = request(server, "/documents/../../outside-secret.txt")
    assert status == 400
    assert b"top secret" not in body


def test_http_unexpected_error_is_500(
    server: DocQAServer,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    def explode(service: RetrievalService, raw_path: str) -> Response:
        raise RuntimeError("boom")

    monkeypatch.setattr(api, "route", explode)
    with caplog.at_level(logging.INFO, logger="docqa"):
        status, _, body = request(server, "/health")
    assert status == 500
    assert json.loads(body) == {"error": "internal error"}
    assert "boom" not in body.decode()
    assert "unhandled error for /health" in caplog.text


def test_http_access_is_logged_without_query_string(
    server: DocQAServer, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG, logger="docqa"):
        request(server, "/health?secret=1")
    messages = [r.getMessage() for r in caplog.records if r.name == "docqa.api"]
    assert messages == ["GET /health -> 200"]


def test_malformed_request_is_rejected_and_logged(
    server: DocQAServer, caplog: pytest.LogCaptureFixture
) -> None:
    with (
        caplog.at_level(logging.WARNING, logger="docqa"),
        socket.create_connection(("127.0.0.1", server.server_port), timeout=5) as sock,
    ):
        sock.sendall(b"GARBAGE\r\n\r\n")
        reply = sock.recv(1024)
    assert b"Error code: 400" in reply
    assert "Bad request syntax" in caplog.text


def test_serve_stops_on_keyboard_interrupt(
    service: RetrievalService,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    def interrupt(self: DocQAServer, poll_interval: float = 0.5) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(DocQAServer, "serve_forever", interrupt)
    with caplog.at_level(logging.INFO, logger="docqa"):
        api.serve(service, "127.0.0.1", 0)
    assert "shutting down" in caplog.text

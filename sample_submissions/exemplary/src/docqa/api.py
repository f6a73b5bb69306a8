"""A minimal JSON HTTP API built on :mod:`http.server`.

Endpoints (all ``GET``):

* ``/health``: liveness and the number of indexed chunks.
* ``/search?q=<query>&k=<n>``: ranked results as JSON.
* ``/documents/<relative path>``: the raw text of an indexed document.

Errors are JSON objects ``{"error": "..."}`` with a 4xx or 5xx status. The
document endpoint decodes the path exactly once and hands it to
:meth:`RetrievalService.read_document`, which only serves indexed documents
that resolve inside the corpus folder.
"""

import json
import logging
import time
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import cast
from urllib.parse import SplitResult, parse_qs, unquote, urlsplit

from docqa.errors import DocumentNotFoundError, ValidationError
from docqa.service import RetrievalService

logger = logging.getLogger(__name__)

MAX_URL_CHARS = 2048
DEFAULT_TOP_K = 5
_DOCUMENTS_PREFIX = "/documents/"


@dataclass(frozen=True, slots=True)
class Response:
    """An HTTP response produced by a route."""

    status: HTTPStatus
    body: bytes
    content_type: str = "application/json"

    @classmethod
    def json(cls, payload: object, status: HTTPStatus = HTTPStatus.OK) -> "Response":
        """Build a JSON response."""
        return cls(status, json.dumps(payload, ensure_ascii=False).encode("utf-8"))

    @classmethod
    def error(cls, status: HTTPStatus, message: str) -> "Response":
        """Build a JSON error response."""
        return cls.json({"error": message}, status)


def _single_param(params: dict[str, list[str]], name: str) -> str | None:
    """Return the only value of a query parameter, ``None`` if it is absent."""
    values = params.get(name)
    if values is None:
        return None
    if len(values) != 1:
        raise ValidationError(f"parameter {name!r} must be given once")
    return values[0]


def _parse_top_k(raw: str | None) -> int:
    """Parse the ``k`` parameter."""
    if raw is None:
        return DEFAULT_TOP_K
    if not raw.isdigit():
        raise ValidationError("parameter 'k' must be a positive integer")
    return int(raw)


def search_route(service: RetrievalService, query_string: str) -> Response:
    """Handle ``/search``."""
    try:
        params = parse_qs(query_string, keep_blank_values=True, max_num_fields=10)
    except ValueError as exc:
        raise ValidationError("too many query parameters") from exc
    query = _single_param(params, "q")
    if query is None:
        raise ValidationError("missing parameter 'q'")
    results = service.search(query, _parse_top_k(_single_param(params, "k")))
    return Response.json({"query": query, "results": [r.to_dict() for r in results]})


def document_route(service: RetrievalService, encoded_path: str) -> Response:
    """Handle ``/documents/<path>``."""
    text = service.read_document(unquote(encoded_path, errors="strict"))
    return Response(HTTPStatus.OK, text.encode("utf-8"), "text/plain; charset=utf-8")


def route(service: RetrievalService, raw_path: str) -> Response:
    """Dispatch a request path to its handler and map errors to statuses.

    Args:
        service: The retrieval service.
        raw_path: The request target, e.g. ``/search?q=keys``.

    Returns:
        The response to send.

    """
    if len(raw_path) > MAX_URL_CHARS:
        return Response.error(HTTPStatus.REQUEST_URI_TOO_LONG, "URL too long")
    try:
        return _dispatch(service, urlsplit(raw_path))
    except (ValidationError, UnicodeDecodeError) as exc:
        return Response.error(HTTPStatus.BAD_REQUEST, str(exc))
    except DocumentNotFoundError:
        return Response.error(HTTPStatus.NOT_FOUND, "document not found")


def _dispatch(service: RetrievalService, url: SplitResult) -> Response:
    """Select the route for ``url``; errors propagate to :func:`route`."""
    if url.path == "/health":
        return Response.json({"status": "ok", "chunks": service.chunk_count})
    if url.path == "/search":
        return search_route(service, url.query)
    if url.path.startswith(_DOCUMENTS_PREFIX):
        return document_route(service, url.path.removeprefix(_DOCUMENTS_PREFIX))
    return Response.error(HTTPStatus.NOT_FOUND, "no such endpoint")


class DocQAServer(ThreadingHTTPServer):
    """A threading HTTP server that carries the :class:`RetrievalService`."""

    daemon_threads = True

    def __init__(self, address: tuple[str, int], service: RetrievalService) -> None:
        """Bind the server.

        Args:
            address: ``(host, port)``; port 0 picks a free port.
            service: The service answering requests.

        """
        super().__init__(address, DocQARequestHandler)
        self.service = service


class DocQARequestHandler(BaseHTTPRequestHandler):
    """Request handler that delegates to :func:`route`."""

    server_version = "docqa"
    sys_version = ""

    def do_GET(self) -> None:
        """Serve a ``GET`` request."""
        started = time.perf_counter()
        service = cast(DocQAServer, self.server).service
        try:
            response = route(service, self.path)
        except Exception:
            logger.exception("unhandled error for %s", self.path)
            response = Response.error(
                HTTPStatus.INTERNAL_SERVER_ERROR, "internal error"
            )
        logger.info(
            "%s %s -> %d",
            self.command,
            urlsplit(self.path).path,
            response.status,
            extra={"duration_ms": round((time.perf_counter() - started) * 1000.0, 2)},
        )
        self._send(response)

    def _send(self, response: Response) -> None:
        """Write ``response`` with conservative headers."""
        self.send_response(response.status)
        self.send_header("Content-Type", response.content_type)
        self.send_header("Content-Length", str(len(response.body)))
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(response.body)

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        """Disable the default access log, which would record query strings.

        :meth:`do_GET` logs method, path (without query) and status instead.
        """

    def log_message(self, format: str, *args: object) -> None:
        """Route :mod:`http.server` diagnostics (malformed requests) to logging."""
        logger.warning("%s - " + format, self.address_string(), *args)


def create_server(service: RetrievalService, host: str, port: int) -> DocQAServer:
    """Create (but do not start) an HTTP server for ``service``."""
    server = DocQAServer((host, port), service)
    logger.info("listening on http://%s:%d", host, server.server_port)
    return server


def serve(service: RetrievalService, host: str, port: int) -> None:
    """Serve requests until interrupted with Ctrl+C or SIGINT."""
    server = create_server(service, host, port)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        logger.info("shutting down")
    finally:
        server.server_close()

"""Tiny HTTP API on top of http.server."""
import json
import logging
import os
from http.server import BaseHTTPRequestHandler, HTTPServer
from urllib.parse import parse_qs, unquote, urlparse

logger = logging.getLogger(__name__)


class Handler(BaseHTTPRequestHandler):
    def _send_json(self, status, payload):
        body = json.dumps(payload).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        parsed = urlparse(self.path)
        index, corpus_dir = self.server.index, self.server.corpus_dir  # type: ignore

        if parsed.path == "/health":
            self._send_json(200, {"status": "ok"})
            return

        if parsed.path == "/search":
            params = parse_qs(parsed.query)
            query = params.get("q", [""])[0]
            if not query.strip():
                self._send_json(400, {"error": "missing q parameter"})
                return
            k = 5
            if "k" in params:
                try:
                    k = int(params["k"][0])
                except ValueError:
                    self._send_json(400, {"error": "k must be an integer"})
                    return
                if k < 1 or k > 50:
                    self._send_json(400, {"error": "k must be between 1 and 50"})
                    return
            try:
                results = index.search(query, top_k=k)
            except Exception as e:
                logger.exception("search failed")
                self._send_json(500, {"error": str(e)})
                return
            self._send_json(200, {"query": query, "results": results})
            return

        if parsed.path.startswith("/documents/"):
            rel = unquote(parsed.path[len("/documents/"):])
            # don't allow going up the directory tree
            if ".." in rel:
                self._send_json(403, {"error": "forbidden"})
                return
            full_path = os.path.join(corpus_dir, rel)
            if os.path.isfile(full_path):
                with open(full_path, encoding="utf-8") as f:
                    text = f.read()
                body = text.encode("utf-8")
                self.send_response(200)
                self.send_header("Content-Type", "text/plain; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            else:
                self._send_json(404, {"error": "not found"})
            return

        self._send_json(404, {"error": "unknown endpoint"})

    def log_message(self, format, *args):
        logger.info("%s - %s", self.address_string(), format % args)


def run_server(index, corpus_dir, host="0.0.0.0", port=8000):
    server = HTTPServer((host, port), Handler)
    server.index = index
    server.corpus_dir = corpus_dir
    print(f"Serving on http://{host}:{port}")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        print("Stopping server")
    server.server_close()

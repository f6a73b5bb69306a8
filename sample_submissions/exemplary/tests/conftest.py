"""Shared fixtures: a small on-disk corpus, a built service and a live HTTP server."""

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from docqa.api import DocQAServer, create_server
from docqa.chunking import ChunkingConfig
from docqa.service import RetrievalService

KEYS_MD = """# Rotating API keys

API keys should be rotated every ninety days. To rotate a key, open the admin
console, create a new key, deploy it to every service and finally revoke the
old key. Never commit keys to the repository.
"""

DEPLOY_TXT = """Deployment guide.

The service is packaged as a container image and deployed to a managed
container platform. Configuration is read from environment variables. The
index file is built in CI and copied into the image at build time.
"""

BILLING_MD = """# Billing

Invoices are issued monthly. Refunds are processed within five business days.
Contact the billing team for questions about invoices or refunds.
"""


@pytest.fixture
def corpus_dir(tmp_path: Path) -> Path:
    """A corpus with valid documents plus files that must be skipped."""
    root = tmp_path / "corpus"
    (root / "guides").mkdir(parents=True)
    (root / "keys.md").write_text(KEYS_MD, encoding="utf-8")
    (root / "guides" / "deploy.txt").write_text(DEPLOY_TXT, encoding="utf-8")
    (root / "guides" / "billing.md").write_text(BILLING_MD, encoding="utf-8")
    (root / "empty.txt").write_text("   \n", encoding="utf-8")
    (root / "latin1.txt").write_bytes("caf\xe9 cr\xe8me".encode("latin-1"))
    (root / "image.png").write_bytes(b"\x89PNG not a document")
    outside = tmp_path / "outside-secret.txt"
    outside.write_text("top secret password material", encoding="utf-8")
    (root / "leak.md").symlink_to(outside)
    return root


@pytest.fixture
def chunking() -> ChunkingConfig:
    """Small chunks so that every document produces several of them."""
    return ChunkingConfig(chunk_size=20, overlap=5)


@pytest.fixture
def service(corpus_dir: Path, chunking: ChunkingConfig) -> RetrievalService:
    """A service built from ``corpus_dir``, able to serve documents."""
    return RetrievalService.build(corpus_dir, chunking)


@pytest.fixture
def index_file(service: RetrievalService, tmp_path: Path) -> Path:
    """The index of ``service`` saved as JSON."""
    path = tmp_path / "index.json"
    service.save(path)
    return path


@pytest.fixture
def server(service: RetrievalService) -> Iterator[DocQAServer]:
    """A running HTTP server on a free local port."""
    httpd = create_server(service, "127.0.0.1", 0)
    # Joined on close, so a handler thread never outlives the test that started it.
    httpd.daemon_threads = False
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield httpd
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)

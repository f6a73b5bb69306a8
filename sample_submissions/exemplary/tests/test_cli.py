import io
import json
import logging
import runpy
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from docqa import cli
from docqa.chunking import Chunk
from docqa.index import SearchResult
from docqa.logging_setup import configure_logging
from docqa.service import RetrievalService


@pytest.fixture(autouse=True)
def restore_logging() -> Iterator[None]:
    """``main`` configures the ``docqa`` logger; undo it so caplog works elsewhere."""
    logger = logging.getLogger("docqa")
    yield
    for handler in list(logger.handlers):
        logger.removeHandler(handler)
    logger.setLevel(logging.NOTSET)
    logger.propagate = True


def test_index_then_query_text(
    corpus_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "index.json"
    args = [
        "index",
        str(corpus_dir),
        "--out",
        str(out),
        "--chunk-size",
        "30",
        "--overlap",
        "5",
    ]
    assert cli.main(args) == 0
    assert out.is_file()
    assert f"into {out}" in capsys.readouterr().out

    assert cli.main(["query", str(out), "rotate api keys", "--top-k", "1"]) == 0
    output = capsys.readouterr().out
    assert output.startswith("1. keys.md #0  (score ")
    assert "API keys should be rotated" in output


def test_query_json(index_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["query", str(index_file), "invoices", "--json"]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert payload["query"] == "invoices"
    assert payload["results"][0]["source"] == "guides/billing.md"


def test_query_without_matches(
    index_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["query", str(index_file), "kubernetes"]) == 0
    assert capsys.readouterr().out == "no matching chunks\n"


def test_user_errors_exit_1_without_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert (
        cli.main(
            ["index", str(tmp_path / "missing"), "--out", str(tmp_path / "i.json")]
        )
        == 1
    )
    assert cli.main(["query", str(tmp_path / "missing.json"), "keys"]) == 1
    err = capsys.readouterr().err
    assert "docqa: error: corpus folder does not exist" in err
    assert "docqa: error: cannot read index" in err
    assert "Traceback" not in err


def test_invalid_query_exits_1(
    index_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["query", str(index_file), "   "]) == 1
    assert "query must not be empty" in capsys.readouterr().err


def test_overlap_not_smaller_than_chunk_size(
    corpus_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = [
        "index",
        str(corpus_dir),
        "--out",
        str(tmp_path / "i.json"),
        "--chunk-size",
        "5",
    ]
    assert cli.main([*args, "--overlap", "5"]) == 1
    assert "overlap must be" in capsys.readouterr().err


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["query", "index.json", "q", "--top-k", "0"],
        ["query", "index.json", "q", "--top-k", "many"],
        ["index", "corpus"],
        ["--log-level", "LOUD", "query", "i.json", "q"],
    ],
)
def test_usage_errors_exit_2(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as excinfo:
        cli.main(argv)
    assert excinfo.value.code == 2
    assert "usage: docqa" in capsys.readouterr().err


def test_serve_loads_index_and_starts_server(
    index_file: Path, corpus_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[tuple[RetrievalService, str, int]] = []

    def fake_serve(service: RetrievalService, host: str, port: int) -> None:
        calls.append((service, host, port))

    monkeypatch.setattr(cli, "serve", fake_serve)
    argv = ["serve", str(index_file), "--corpus", str(corpus_dir), "--port", "0"]
    assert cli.main(argv) == 0
    [(service, host, port)] = calls
    assert (host, port) == ("127.0.0.1", 0)
    assert service.read_document("keys.md").startswith("# Rotating")


def test_format_results_shortens_long_chunks() -> None:
    chunk = Chunk("a.md", 3, 0, 1000, "word " * 200)
    text = cli.format_results([SearchResult(rank=1, score=2.5, chunk=chunk)])
    header, excerpt = text.splitlines()
    assert header == "1. a.md #3  (score 2.5000)"
    assert excerpt.endswith(" ...")
    assert len(excerpt.strip()) <= cli.EXCERPT_CHARS


def test_json_log_format(index_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["--log-format", "json", "query", str(index_file), "keys"]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
    search = next(
        entry for entry in lines if entry["message"].startswith("search returned")
    )
    assert search["level"] == "INFO"
    assert search["logger"] == "docqa.service"
    assert search["top_k"] == 5


def test_json_formatter_includes_exceptions() -> None:
    stream = io.StringIO()
    configure_logging("ERROR", "json", stream=stream)
    try:
        raise ValueError("bad")
    except ValueError:
        logging.getLogger("docqa.test").exception("failed")
    entry = json.loads(stream.getvalue())
    assert entry["message"] == "failed"
    assert "ValueError: bad" in entry["exception"]


@pytest.mark.parametrize(("level", "fmt"), [("TRACE", "text"), ("INFO", "xml")])
def test_configure_logging_rejects_unknown_values(level: str, fmt: str) -> None:
    with pytest.raises(ValueError, match="unsupported logging configuration"):
        configure_logging(level, fmt)


def test_configure_logging_replaces_handlers() -> None:
    configure_logging("INFO")
    configure_logging("DEBUG")
    logger = logging.getLogger("docqa")
    assert len(logger.handlers) == 1
    assert logger.level == logging.DEBUG


def test_module_entry_point(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(sys, "argv", ["docqa", "--version"])
    with pytest.raises(SystemExit) as excinfo:
        runpy.run_module("docqa", run_name="__main__")
    assert excinfo.value.code == 0
    assert capsys.readouterr().out.startswith("docqa 0.1.0")

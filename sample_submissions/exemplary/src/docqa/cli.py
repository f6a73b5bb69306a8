"""Command-line interface: ``docqa index``, ``docqa query`` and ``docqa serve``.

Results go to standard output, logs to standard error. Exit codes: 0 on
success, 1 when a command fails because of its input or environment (missing
corpus, invalid index file, bad query), 2 for invalid command-line usage.
"""

import argparse
import json
import logging
import sys
import textwrap
from collections.abc import Callable, Sequence
from pathlib import Path

from docqa import __version__
from docqa.api import serve
from docqa.chunking import ChunkingConfig
from docqa.corpus import DEFAULT_MAX_FILE_BYTES
from docqa.errors import DocQAError
from docqa.index import BM25Params, SearchResult
from docqa.logging_setup import LOG_FORMATS, LOG_LEVELS, configure_logging
from docqa.service import MAX_TOP_K, RetrievalService

logger = logging.getLogger(__name__)

EXIT_OK = 0
EXIT_FAILURE = 1
EXCERPT_CHARS = 240

Command = Callable[[argparse.Namespace], int]


def _int_in_range(low: int, high: int) -> Callable[[str], int]:
    """Return an argparse ``type`` accepting integers in ``[low, high]``."""

    def parse(value: str) -> int:
        try:
            number = int(value)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"expected an integer, got {value!r}"
            ) from None
        if not low <= number <= high:
            raise argparse.ArgumentTypeError(
                f"must be between {low} and {high}, got {number}"
            )
        return number

    return parse


def _add_index_parser(
    commands: "argparse._SubParsersAction[argparse.ArgumentParser]",
) -> None:
    """Register the ``index`` sub-command."""
    parser = commands.add_parser("index", help="build an index from a corpus folder")
    parser.add_argument("corpus", type=Path, help="folder with .txt/.md documents")
    parser.add_argument(
        "--out", type=Path, required=True, help="index file to write (JSON)"
    )
    parser.add_argument("--chunk-size", type=_int_in_range(1, 5000), default=200)
    parser.add_argument("--overlap", type=_int_in_range(0, 4999), default=50)
    parser.add_argument("--k1", type=float, default=1.5, help="BM25 k1 (default 1.5)")
    parser.add_argument("--b", type=float, default=0.75, help="BM25 b (default 0.75)")
    parser.add_argument(
        "--max-file-bytes", type=_int_in_range(1, 2**31), default=DEFAULT_MAX_FILE_BYTES
    )
    parser.set_defaults(handler=run_index)


def _add_query_parser(
    commands: "argparse._SubParsersAction[argparse.ArgumentParser]",
) -> None:
    """Register the ``query`` sub-command."""
    parser = commands.add_parser("query", help="query an index")
    parser.add_argument("index", type=Path, help="index file written by 'docqa index'")
    parser.add_argument("query", help="free-text query")
    parser.add_argument("--top-k", type=_int_in_range(1, MAX_TOP_K), default=5)
    parser.add_argument("--json", action="store_true", help="print results as JSON")
    parser.set_defaults(handler=run_query)


def _add_serve_parser(
    commands: "argparse._SubParsersAction[argparse.ArgumentParser]",
) -> None:
    """Register the ``serve`` sub-command."""
    parser = commands.add_parser("serve", help="serve an index over HTTP")
    parser.add_argument("index", type=Path, help="index file written by 'docqa index'")
    parser.add_argument(
        "--corpus", type=Path, help="corpus folder, enables /documents/"
    )
    parser.add_argument(
        "--host", default="127.0.0.1", help="bind address (default 127.0.0.1)"
    )
    parser.add_argument("--port", type=_int_in_range(0, 65535), default=8000)
    parser.set_defaults(handler=run_serve)


def build_parser() -> argparse.ArgumentParser:
    """Create the argument parser for the ``docqa`` command."""
    parser = argparse.ArgumentParser(
        prog="docqa", description="Document Q&A retrieval."
    )
    parser.add_argument(
        "--version", action="version", version=f"%(prog)s {__version__}"
    )
    parser.add_argument("--log-level", choices=LOG_LEVELS, default="INFO")
    parser.add_argument("--log-format", choices=LOG_FORMATS, default="text")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _add_index_parser(commands)
    _add_query_parser(commands)
    _add_serve_parser(commands)
    return parser


def run_index(args: argparse.Namespace) -> int:
    """Build an index from ``args.corpus`` and write it to ``args.out``."""
    service = RetrievalService.build(
        args.corpus,
        ChunkingConfig(chunk_size=args.chunk_size, overlap=args.overlap),
        BM25Params(k1=args.k1, b=args.b),
        max_file_bytes=args.max_file_bytes,
    )
    service.save(args.out)
    sys.stdout.write(f"indexed {service.chunk_count} chunks into {args.out}\n")
    return EXIT_OK


def format_results(results: Sequence[SearchResult]) -> str:
    """Render results as human-readable text."""
    if not results:
        return "no matching chunks\n"
    blocks = []
    for result in results:
        excerpt = textwrap.shorten(result.chunk.text, EXCERPT_CHARS, placeholder=" ...")
        header = f"{result.rank}. {result.chunk.source} #{result.chunk.ordinal}"
        blocks.append(f"{header}  (score {result.score:.4f})\n   {excerpt}\n")
    return "\n".join(blocks)


def run_query(args: argparse.Namespace) -> int:
    """Search ``args.index`` for ``args.query`` and print the results."""
    service = RetrievalService.load(args.index)
    results = service.search(args.query, args.top_k)
    if args.json:
        payload = {"query": args.query, "results": [r.to_dict() for r in results]}
        sys.stdout.write(json.dumps(payload, ensure_ascii=False, indent=2) + "\n")
    else:
        sys.stdout.write(format_results(results))
    return EXIT_OK


def run_serve(args: argparse.Namespace) -> int:
    """Serve ``args.index`` over HTTP until interrupted."""
    service = RetrievalService.load(args.index, args.corpus)
    serve(service, args.host, args.port)
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``docqa`` command.

    Args:
        argv: Arguments without the program name; defaults to ``sys.argv[1:]``.

    Returns:
        The process exit code.

    """
    args = build_parser().parse_args(argv)
    configure_logging(args.log_level, args.log_format)
    handler: Command = args.handler
    try:
        return handler(args)
    except DocQAError as exc:
        logger.debug("command failed", exc_info=True)
        sys.stderr.write(f"docqa: error: {exc}\n")
        return EXIT_FAILURE

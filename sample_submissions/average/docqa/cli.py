"""Command line interface.

    python -m docqa index ./docs --out index.json
    python -m docqa query index.json "some question"
    python -m docqa serve index.json --corpus ./docs
"""
import argparse
import json
import logging
import sys

from .chunker import load_documents
from .index import TfidfIndex
from .store import load_index, save_index


def cmd_index(args):
    chunks = load_documents(args.folder, args.chunk_size, args.overlap)
    if not chunks:
        print("No documents found!")
        return 1
    index = TfidfIndex()
    index.add_chunks(chunks)
    index.build()
    meta = {"corpus": args.folder, "chunk_size": args.chunk_size, "overlap": args.overlap}
    save_index(index, args.out, meta)
    print(f"Index written to {args.out}")
    return 0


def cmd_query(args):
    index = load_index(args.index)
    results = index.search(args.query, top_k=args.top_k)
    if args.json:
        print(json.dumps(results, indent=2))
    elif not results:
        print("No results.")
    else:
        for i, r in enumerate(results, 1):
            snippet = r["text"][:200].replace("\n", " ")
            print(f"{i}. [{r['score']:.3f}] {r['source']} (chunk {r['chunk_id']})")
            print(f"   {snippet}...")
    return 0


def cmd_serve(args):
    from .server import run_server

    index = load_index(args.index)
    run_server(index, args.corpus, args.host, args.port)
    return 0


def main(argv=None):
    parser = argparse.ArgumentParser(prog="docqa")
    parser.add_argument("-v", "--verbose", action="store_true")
    sub = parser.add_subparsers(dest="command")

    p_index = sub.add_parser("index", help="build an index from a folder")
    p_index.add_argument("folder")
    p_index.add_argument("--out", default="index.json")
    p_index.add_argument("--chunk-size", type=int, default=200)
    p_index.add_argument("--overlap", type=int, default=50)

    p_query = sub.add_parser("query", help="query an index")
    p_query.add_argument("index")
    p_query.add_argument("query")
    p_query.add_argument("--top-k", type=int, default=5)
    p_query.add_argument("--json", action="store_true")

    p_serve = sub.add_parser("serve", help="run the HTTP API")
    p_serve.add_argument("index")
    p_serve.add_argument("--corpus", required=True)
    p_serve.add_argument("--host", default="0.0.0.0")
    p_serve.add_argument("--port", type=int, default=8000)

    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )

    commands = {"index": cmd_index, "query": cmd_query, "serve": cmd_serve}
    if args.command not in commands:
        parser.print_help()
        return 2
    try:
        return commands[args.command](args)
    except (ValueError, FileNotFoundError) as e:
        print(f"Error: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())

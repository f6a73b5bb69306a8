"""Save / load the index as JSON."""
import json
import logging

from .index import TfidfIndex

logger = logging.getLogger(__name__)

FORMAT_VERSION = 1


def save_index(index: TfidfIndex, path: str, meta: dict | None = None) -> None:
    data = {"version": FORMAT_VERSION, "meta": meta or {}, "index": index.to_dict()}
    with open(path, "w", encoding="utf-8") as f:
        json.dump(data, f)
    logger.info("Saved index to %s", path)


def load_index(path: str) -> TfidfIndex:
    """Load an index saved with save_index. Raises ValueError for bad files."""
    with open(path, encoding="utf-8") as f:
        try:
            data = json.load(f)
        except json.JSONDecodeError as e:
            raise ValueError(f"{path} is not valid JSON: {e}")

    if not isinstance(data, dict) or data.get("version") != FORMAT_VERSION:
        raise ValueError(f"Unsupported index format in {path}")
    try:
        return TfidfIndex.from_dict(data["index"])
    except KeyError as e:
        raise ValueError(f"Index file is missing key {e}")

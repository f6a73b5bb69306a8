"""Loading documents from disk and splitting them into chunks."""
import logging
import os

logger = logging.getLogger(__name__)

ALLOWED_EXTENSIONS = (".txt", ".md")
MAX_FILE_SIZE = 10 * 1024 * 1024  # 10 MB


def split_into_chunks(text: str, chunk_size: int = 200, overlap: int = 50) -> list[str]:
    """Split text into chunks of `chunk_size` words, overlapping by `overlap` words."""
    if chunk_size <= 0:
        raise ValueError("chunk_size must be positive")
    if overlap < 0 or overlap >= chunk_size:
        raise ValueError("overlap must be >= 0 and smaller than chunk_size")

    words = text.split()
    chunks = []
    i = 0
    while i < len(words):
        chunks.append(" ".join(words[i:i + chunk_size]))
        if i + chunk_size >= len(words):
            break
        i += chunk_size - overlap
    return chunks


def load_documents(folder, chunk_size=200, overlap=50):
    """Walk `folder` and return a list of chunk dicts (source, chunk_id, text)."""
    if not os.path.isdir(folder):
        raise FileNotFoundError(f"Folder not found: {folder}")

    results = []
    files_seen = 0
    files_skipped = 0
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames.sort()
        for name in sorted(filenames):
            if name.lower().endswith(ALLOWED_EXTENSIONS):
                files_seen += 1
                path = os.path.join(dirpath, name)
                rel_path = os.path.relpath(path, folder).replace(os.sep, "/")
                if os.path.getsize(path) > MAX_FILE_SIZE:
                    logger.warning("File too big, skipping: %s", rel_path)
                    files_skipped += 1
                    continue
                try:
                    with open(path, encoding="utf-8") as f:
                        text = f.read()
                except UnicodeDecodeError:
                    logger.warning("Could not decode %s as utf-8, skipping", rel_path)
                    files_skipped += 1
                    continue
                except OSError as e:
                    logger.error("Could not read %s: %s", rel_path, e)
                    files_skipped += 1
                    continue

                if text.strip():
                    chunks = split_into_chunks(text, chunk_size, overlap)
                    for n, chunk in enumerate(chunks):
                        results.append({"source": rel_path, "chunk_id": n, "text": chunk})
                else:
                    print(f"Skipping empty file: {rel_path}")
                    files_skipped += 1
            else:
                logger.debug("Ignoring %s (unsupported extension)", name)

    print(f"Loaded {files_seen - files_skipped} files ({len(results)} chunks), skipped {files_skipped}")
    return results

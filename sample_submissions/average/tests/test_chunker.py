import pytest

from docqa.chunker import load_documents, split_into_chunks


def test_split_basic():
    text = " ".join(str(i) for i in range(10))
    chunks = split_into_chunks(text, chunk_size=4, overlap=2)
    assert chunks[0] == "0 1 2 3"
    assert chunks[1] == "2 3 4 5"
    assert chunks[-1] == "6 7 8 9"


def test_split_short_text():
    assert split_into_chunks("hello world", chunk_size=10, overlap=2) == ["hello world"]


def test_split_empty():
    assert split_into_chunks("", chunk_size=10, overlap=2) == []


def test_split_bad_overlap():
    with pytest.raises(ValueError):
        split_into_chunks("a b c", chunk_size=3, overlap=3)


def test_load_documents(tmp_path):
    (tmp_path / "a.md").write_text("hello world " * 10)
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "b.txt").write_text("another document")
    (tmp_path / "image.png").write_bytes(b"xxx")
    chunks = load_documents(str(tmp_path), chunk_size=5, overlap=1)
    sources = {c["source"] for c in chunks}
    assert sources == {"a.md", "sub/b.txt"}


def test_load_documents_missing_folder(tmp_path):
    with pytest.raises(FileNotFoundError):
        load_documents(str(tmp_path / "nope"))

import pytest

from docqa.errors import ValidationError
from docqa.paths import MAX_PATH_CHARS, normalise_document_path


@pytest.mark.parametrize(
    "path", ["keys.md", "guides/deploy.txt", "a b/c-d_e.md", "..hidden.md"]
)
def test_accepts_plain_relative_paths(path: str) -> None:
    assert normalise_document_path(path) == path


@pytest.mark.parametrize(
    "path",
    [
        "",
        "../etc/passwd",
        "guides/../../etc/passwd",
        "guides/..",
        "./keys.md",
        "guides//deploy.txt",
        "guides/",
        "/etc/passwd",
        "C:/Windows/win.ini",
        "c:keys.md",
        "..\\secret.txt",
        "keys.md\x00.txt",
        "keys\n.md",
        "a" * (MAX_PATH_CHARS + 1),
    ],
)
def test_rejects_traversal_and_malformed_paths(path: str) -> None:
    with pytest.raises(ValidationError):
        normalise_document_path(path)

from docqa.text import STOP_WORDS, tokenize


def test_tokenize_lowercases_and_splits_on_punctuation() -> None:
    assert tokenize("Rotate API-keys, NOW!") == ["rotate", "api", "keys", "now"]


def test_tokenize_drops_stop_words() -> None:
    assert tokenize("the key of the kingdom") == ["key", "kingdom"]
    assert "the" in STOP_WORDS


def test_tokenize_splits_underscores_and_keeps_digits() -> None:
    assert tokenize("snake_case v2 2024") == ["snake", "case", "v2", "2024"]


def test_tokenize_normalises_unicode() -> None:
    # Full-width letters (NFKC) and German sharp s (case folding).
    assert tokenize("\uff21\uff30\uff29 Stra\u00dfe") == ["api", "strasse"]


def test_tokenize_empty_text() -> None:
    assert tokenize("  ... ") == []

from app import answer, table


def test_answer() -> None:
    assert answer() == 42


def test_table() -> None:
    assert table() == "answer  42"

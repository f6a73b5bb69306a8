"""The classifier is reproducible and good enough on held-out data."""

from iris_model.train import evaluate, train


def test_same_seed_gives_the_same_predictions() -> None:
    sample = [[5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3]]
    assert train(seed=7).predict(sample).tolist() == train(seed=7).predict(sample).tolist()


def test_accuracy_on_held_out_data() -> None:
    _, accuracy = evaluate(seed=42)
    assert accuracy > 0.85


def test_knows_all_three_species() -> None:
    assert train(seed=1).classes_.tolist() == [0, 1, 2]

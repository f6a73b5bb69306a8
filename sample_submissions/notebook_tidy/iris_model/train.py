"""Training and evaluation, seeded so that every run gives the same model."""

from __future__ import annotations

from sklearn.datasets import load_iris
from sklearn.ensemble import RandomForestClassifier
from sklearn.model_selection import train_test_split

TEST_SHARE = 0.3
TREES = 50


def _split(seed: int) -> tuple[list[list[float]], list[list[float]], list[int], list[int]]:
    """The iris measurements split into training and test parts, the same for one seed."""
    iris = load_iris()
    parts = train_test_split(
        iris.data.tolist(), iris.target.tolist(), test_size=TEST_SHARE, random_state=seed
    )
    return parts[0], parts[1], parts[2], parts[3]


def train(seed: int) -> RandomForestClassifier:
    """A random forest fitted on the training part of the iris data."""
    features, _, labels, _ = _split(seed)
    model = RandomForestClassifier(n_estimators=TREES, random_state=seed)
    model.fit(features, labels)
    return model


def evaluate(seed: int) -> tuple[RandomForestClassifier, float]:
    """The trained model and its accuracy on the held-out part."""
    _, test_features, _, test_labels = _split(seed)
    model = train(seed)
    return model, float(model.score(test_features, test_labels))

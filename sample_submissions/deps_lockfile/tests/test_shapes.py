import math

import attrs
import pytest

from shapes import Circle, Rectangle


def test_rectangle() -> None:
    shape = Rectangle(2, 3)
    assert (shape.area(), shape.perimeter()) == (6, 10)


def test_circle() -> None:
    assert Circle(1).area() == pytest.approx(math.pi)
    assert Circle(1).perimeter() == pytest.approx(2 * math.pi)


@pytest.mark.parametrize("make", [lambda: Rectangle(0, 1), lambda: Circle(-1)])
def test_sizes_must_be_positive(make) -> None:
    with pytest.raises(ValueError, match="must be positive"):
        make()


def test_shapes_are_immutable() -> None:
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        Rectangle(1, 1).width = 2  # type: ignore[misc]

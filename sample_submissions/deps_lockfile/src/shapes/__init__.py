"""Validated shapes with areas and perimeters."""

from __future__ import annotations

import math

import attrs


def _positive(_: object, attribute: attrs.Attribute[float], value: float) -> None:
    if value <= 0:
        raise ValueError(f"{attribute.name} must be positive, got {value}")


@attrs.frozen
class Rectangle:
    """An axis-aligned rectangle."""

    width: float = attrs.field(validator=_positive)
    height: float = attrs.field(validator=_positive)

    def area(self) -> float:
        """Width times height."""
        return self.width * self.height

    def perimeter(self) -> float:
        """Twice the sum of the sides."""
        return 2 * (self.width + self.height)


@attrs.frozen
class Circle:
    """A circle given by its radius."""

    radius: float = attrs.field(validator=_positive)

    def area(self) -> float:
        """Pi r squared."""
        return math.pi * self.radius**2

    def perimeter(self) -> float:
        """Two pi r."""
        return 2 * math.pi * self.radius

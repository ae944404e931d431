"""The canvas an exercise draws on: blocks placed relative to each other (``sheet``), the shared
steps (``ops``), formulas (``fx``), and the constants an exercise names: directions (RIGHT, LEFT,
DOWN, UP, and EVERYTHING for "below everything placed so far"), the roles of blocks, and the
:class:`Scope` that names the blocks of one part of a sheet."""
from xlhand.layout.blocks import BIAS, BLANK, COMPUTED, GIVEN, GRADIENT, OUTPUT, TARGET, WEIGHT, Scope
from xlhand.layout.sheet import DOWN, EVERYTHING, LEFT, RIGHT, UP, op

__all__ = ["BIAS", "BLANK", "COMPUTED", "DOWN", "EVERYTHING", "GIVEN", "GRADIENT", "LEFT", "OUTPUT", "RIGHT",
           "Scope", "TARGET", "UP", "WEIGHT", "op"]

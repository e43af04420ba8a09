"""Exceptions raised by stylebias.

Every error the library raises on bad input subclasses :class:`StyleBiasError`, and also the
built-in exception a Python user would expect (``ValueError``, ``TypeError``, ``KeyError`` ...),
so ``except ValueError`` keeps working. Messages say what was expected, what was got, and how
to fix it.
"""

from __future__ import annotations

__all__ = [
    "StyleBiasError",
    "ShapeError",
    "InvalidArgumentError",
    "UnknownNameError",
    "IntegrityError",
    "MissingFileError",
    "DataError",
    "ModelOutputError",
    "DataWarning",
]


class StyleBiasError(Exception):
    """Base class of every error stylebias raises on purpose."""


class ShapeError(StyleBiasError, ValueError):
    """A tensor has the wrong number of dimensions or the wrong size."""


class InvalidArgumentError(StyleBiasError, ValueError):
    """An argument is outside its allowed range or set of choices."""


class UnknownNameError(StyleBiasError, KeyError):
    """A name was looked up in a registry that does not hold it."""

    def __str__(self) -> str:  # KeyError's str() would wrap the message in quotes
        return str(self.args[0]) if self.args else ""


class IntegrityError(StyleBiasError, OSError):
    """A downloaded or cached file does not have the expected sha256."""


class MissingFileError(StyleBiasError, FileNotFoundError):
    """A required file (weights, stimuli, data) is not where it should be."""


class DataError(StyleBiasError, ValueError):
    """Input data (images, folders, CSV files) is malformed or empty."""


class ModelOutputError(StyleBiasError, ValueError):
    """A model returned output of the wrong shape for the evaluation asked for."""


class DataWarning(UserWarning):
    """Input data was read, but not exactly as stored (e.g. out-of-range pixel values rescaled,
    an unreadable EXIF orientation ignored); the message names the file and what was done."""

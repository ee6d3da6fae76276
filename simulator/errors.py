"""The one error type resim raises for bad user input or bad data files.

Everything a user can get wrong (a scenario file, an override, a data
file) ends up as a :class:`ResimError` carrying the file, the dotted key
path and what is allowed, so the CLI can print one line and exit 2.
"""

from __future__ import annotations


class ResimError(Exception):
    """Bad input: a scenario, an override or a data file.

    Parameters
    ----------
    message : str
        What is wrong and what is allowed.
    file : str, optional
        The file the problem is in.
    key : str, optional
        Dotted key path inside the file, e.g. ``restriction.duration_months``.
    """

    def __init__(self, message: str, file: str | None = None, key: str | None = None):
        self.message = message
        self.file = file
        self.key = key
        super().__init__(self.one_line())

    def one_line(self) -> str:
        """The message on one line, prefixed by the file and key it concerns."""
        where = ": ".join(part for part in (self.file, self.key) if part)
        text = " ".join(self.message.split())
        return f"{where}: {text}" if where else text


class ScenarioError(ResimError):
    """A scenario file or override is invalid."""


class DataError(ResimError):
    """A data file (input-output table, dependence table) is invalid."""

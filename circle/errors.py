"""Exceptions that circle raises and users can catch."""

from __future__ import annotations

__all__ = [
    "CircleError",
    "InputError",
    "NetworkUnavailableError",
]


class CircleError(Exception):
    """Base class of every error circle raises on purpose."""


class InputError(ValueError, CircleError):
    """An input (file, row, option) is wrong; the message says where and how to fix it.

    The CLI turns it into one line on standard error and exit code 2.
    """


class NetworkUnavailableError(ConnectionError, CircleError):
    """Data had to be downloaded (OSMnx / Overpass) but the internet could not be reached."""

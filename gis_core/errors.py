"""Domain errors of the spatial engine.

Every error carries a short machine-readable ``code`` that the web layer maps
to an HTTP status in one table (``api.errors``).
"""

from __future__ import annotations


class GisError(Exception):
    """Base class of every gridgov domain error.

    Parameters
    ----------
    message
        A sentence for the user: what is wrong and, where possible, what is allowed.
    code
        Machine-readable code; defaults to the class attribute ``code``.
    """

    code = "gis_error"

    def __init__(self, message: str, *, code: str | None = None, **details: object) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.details = details


class InvalidInput(GisError):
    """A parameter has a value outside what the function accepts."""

    code = "invalid_input"


class InvalidGeometry(GisError):
    """A geometry is empty, invalid or of the wrong type."""

    code = "invalid_geometry"


class InvalidCoordinates(InvalidInput):
    """Coordinates are NaN, infinite or out of range."""

    code = "invalid_coordinates"


class UnknownCRS(InvalidInput):
    """A coordinate reference system could not be understood."""

    code = "unknown_crs"


class CRSMismatch(GisError):
    """Two inputs that must share a CRS do not."""

    code = "crs_mismatch"


class OutsideJurisdiction(GisError):
    """A location falls outside every grid of the territory."""

    code = "outside_jurisdiction"


class TopologyError(GisError):
    """An exclusive grid layer has gaps or overlaps."""

    code = "topology_error"


class NotFound(GisError):
    """A code or id does not name anything stored."""

    code = "not_found"


class Conflict(GisError):
    """The request conflicts with the current state (e.g. a lifecycle transition)."""

    code = "conflict"


class InvalidCode(InvalidInput):
    """A code (grid, building, room, BeiDou) is malformed or fails its check character."""

    code = "invalid_code"


class NotAnImage(InvalidInput):
    """Bytes that should hold an image (JPEG, PNG, WebP) cannot be decoded as one."""

    code = "not_an_image"


class MissingDependency(GisError):
    """A file or system package the operation needs is not installed (the server's fault)."""

    code = "missing_dependency"

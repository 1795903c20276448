"""The registry of map layers: the static declarations plus one layer per grid layer row.

Use the module-level :data:`REGISTRY` (or the helpers :func:`get_layer`,
:func:`all_layers`). Grid layers come from the ``grid_layers`` table: call
:meth:`Registry.refresh` with a connection (the tile service does so at start
and whenever ``grid_layers`` changes); until then only the static layers exist.

Layer ids are URL-safe: ``admin-district``, ``admin-street``,
``admin-community``, ``buildings``, ``roads``, ``cameras``, ``camera-views``,
``blind-spots``, ``events``, ``hotspots`` and ``grids-<name>`` per grid layer
(see :func:`layers.catalog.grid_layer_id`).
"""

from __future__ import annotations

import threading

from sqlalchemy import Connection, text

from gis_core.errors import NotFound
from layers.catalog import grid_layer, static_layers
from layers.model import Layer


class Registry:
    """Layers by id, in display order (base layers first)."""

    def __init__(self, layers: list[Layer] | None = None) -> None:
        self._static = list(layers if layers is not None else static_layers())
        self._grids: list[Layer] = []
        self._lock = threading.Lock()
        self._by_id = self._index()

    def _index(self) -> dict[str, Layer]:
        ordered = [*self._static[:3], *self._grids, *self._static[3:]]
        by_id = {layer.id: layer for layer in ordered}
        if len(by_id) != len(ordered):
            raise ValueError("duplicate layer ids in the registry")
        return by_id

    def refresh(self, conn: Connection) -> None:
        """Reload the grid layers from ``grid_layers`` (one layer per row)."""
        rows = conn.execute(text(
            "SELECT id, name, kind, description, exclusive FROM grid_layers ORDER BY id")).all()
        grids = [grid_layer(r.id, r.name, r.kind, r.description, r.exclusive, i)
                 for i, r in enumerate(rows)]
        with self._lock:
            self._grids = grids
            self._by_id = self._index()

    def add(self, layer: Layer) -> None:
        """Register one more layer (e.g. from a plugin); its id must be new."""
        with self._lock:
            if layer.id in self._by_id:
                raise ValueError(f"layer id {layer.id!r} is already registered")
            self._static.append(layer)
            self._by_id = self._index()

    def get(self, layer_id: str) -> Layer:
        """The layer ``layer_id``; raises :class:`NotFound` naming the known ids."""
        layer = self._by_id.get(layer_id)
        if layer is None:
            raise NotFound(f"no layer {layer_id!r}; known layers: {', '.join(self._by_id)}",
                           code="layer_not_found", layer=layer_id)
        return layer

    def all(self) -> list[Layer]:
        """Every layer in display order."""
        return list(self._by_id.values())

    def ids(self) -> list[str]:
        """Every layer id in display order."""
        return list(self._by_id)

    def depending_on(self, table: str) -> list[Layer]:
        """The layers whose tiles change when ``table`` changes."""
        return [layer for layer in self._by_id.values() if table in layer.tables]


REGISTRY = Registry()


def get_layer(layer_id: str) -> Layer:
    """The layer ``layer_id`` of :data:`REGISTRY`.

    Examples
    --------
    >>> get_layer("buildings").geometry_type
    'MultiPolygon'
    """
    return REGISTRY.get(layer_id)


def all_layers() -> list[Layer]:
    """Every layer of :data:`REGISTRY`, in display order."""
    return REGISTRY.all()

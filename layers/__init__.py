"""The map layer registry: one typed declaration per layer.

>>> from layers import get_layer
>>> get_layer("events").all_filters[-1].name
'datetime'
"""

from layers.model import Layer, LayerProperty, LayerStyle, Title
from layers.registry import REGISTRY, Registry, all_layers, get_layer

__all__ = ["REGISTRY", "Layer", "LayerProperty", "LayerStyle", "Registry", "Title",
           "all_layers", "get_layer"]

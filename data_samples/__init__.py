"""The sample town generator and the small data the product ships.

>>> from data_samples import SCALES, load_categories
>>> sorted(SCALES)
['district', 'small', 'town']
>>> load_categories()["major_code"].nunique() >= 11
True
"""

from data_samples.catalogue import load_categories, load_departments
from data_samples.generator import GENERATOR_VERSION, SCALES, Manifest, Scale, generate

__all__ = ["GENERATOR_VERSION", "SCALES", "Manifest", "Scale", "generate", "load_categories",
           "load_departments"]

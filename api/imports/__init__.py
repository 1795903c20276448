"""Onboarding a district's own data: the checks and links behind ``gridgov import``.

:mod:`api.services.importer` reads the files and writes the rows; this package
holds what makes the result a working district: GB/T 2260 codes checked
(:mod:`.admin_codes`), grids and buildings linked to their community
(:mod:`.communities`), standard building codes (:mod:`.buildings`), rooms
(:mod:`.rooms`), the service catalogue (:mod:`.catalogue`) and tables read
from CSV or XLSX (:mod:`.tables`).
"""

"""Onboarding a district's own data: the checks and links behind ``gridgov import``.

:mod:`api.io.importer` runs an import in one transaction and writes the
rows; this package holds what it reads and what makes the result a working
district: files read into EPSG:4326 (:mod:`.reading`) and tables from CSV or
XLSX (:mod:`.tables`), GB/T 2260 codes checked (:mod:`.admin_codes`), grids and
buildings linked to their community (:mod:`.communities`), standard building
codes (:mod:`.buildings`), rooms (:mod:`.rooms`)
and the times and channels of events (:mod:`.event_fields`); the service catalogue is
read by :mod:`api.catalogue.imports`.
"""

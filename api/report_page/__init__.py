"""The residents' phone report page (``/report``) and the report form the plate page shares."""

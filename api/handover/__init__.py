"""Hand-over between jurisdictions: reports on a neighbour's side go to its Open311 endpoint."""

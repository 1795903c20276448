"""Leaders' weekly and monthly reports of an area, as PDF and XLSX, on demand and on a schedule."""

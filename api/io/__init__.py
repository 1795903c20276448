"""Files in and out: the import of every kind, exports, the sample town and COPY bulk writes."""

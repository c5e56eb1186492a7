"""HTTP-facing helpers shared by the web services."""

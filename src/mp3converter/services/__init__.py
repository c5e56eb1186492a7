"""One module per role; each builds its app or worker from Settings."""

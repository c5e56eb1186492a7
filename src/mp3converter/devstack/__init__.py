"""Running the whole platform on one machine: for `make run` and the end-to-end tests."""

"""Use cases: what the platform does, called by the roles' routes and consumers."""

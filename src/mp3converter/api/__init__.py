"""The HTTP API: schemas, typed dependencies, and one router per resource."""

"""Routers of the roles that own each resource."""

"""The gateway's routers: the public API, documented here and forwarded to the owning role."""

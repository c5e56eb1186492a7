"""Domain model: jobs, users and their rules. Imports no adapter."""

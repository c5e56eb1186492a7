"""The command-line client: `mp3converter login|convert|jobs|download|logout`.

It talks to the gateway over HTTP only and imports nothing of the server side (no settings,
roles, adapters or domain), so it starts fast and runs on a machine without the platform's
dependencies' configuration. A test keeps it that way.
"""

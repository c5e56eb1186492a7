"""Adapters to the outside world: MongoDB, GridFS, RabbitMQ, ffmpeg, SMTP, JWT keys."""

"""mp3converter: a self-hostable video-to-MP3 conversion platform."""

__version__ = "0.1.0"

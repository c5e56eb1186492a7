"""`python -m mp3converter` is the `mp3converter` command."""

import sys

from mp3converter.cli import main

sys.exit(main())

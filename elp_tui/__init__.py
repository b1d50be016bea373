"""ELP: the Enterprise License Portal in the terminal."""

__version__ = "0.1.0"

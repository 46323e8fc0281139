"""The release, in one place: the package, ``chatbox --version`` and the status page read it from here."""

__version__ = "0.1.0"

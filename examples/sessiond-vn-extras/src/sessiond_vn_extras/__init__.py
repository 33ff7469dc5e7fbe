"""Example sessiond plugins (see README.md); the entry point is ``sessiond_vn_extras.plugin``."""

__version__ = "0.1.0"

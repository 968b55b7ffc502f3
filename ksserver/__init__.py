"""ksserver: a Rocks-style cluster provisioning server.

Importing this package does nothing but define ``__version__``: engines, apps and
settings are built by factories (``ksserver.config.load_settings``,
``ksserver.web.create_app``).
"""

__version__ = "0.1.0"

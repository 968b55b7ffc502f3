"""installer_plugin package."""

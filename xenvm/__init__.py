"""xenvm package."""

"""rocks_partition package."""

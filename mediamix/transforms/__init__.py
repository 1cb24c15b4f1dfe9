"""mediamix.transforms."""

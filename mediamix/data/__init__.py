"""mediamix.data."""

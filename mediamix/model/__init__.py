"""mediamix.model."""

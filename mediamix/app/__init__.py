"""mediamix.app."""

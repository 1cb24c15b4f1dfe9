"""mediamix.inference."""

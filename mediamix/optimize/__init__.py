"""mediamix.optimize."""

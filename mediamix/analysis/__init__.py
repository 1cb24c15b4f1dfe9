"""mediamix.analysis."""

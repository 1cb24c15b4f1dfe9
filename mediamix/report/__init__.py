"""mediamix.report."""

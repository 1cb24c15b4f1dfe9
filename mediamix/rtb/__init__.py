"""mediamix.rtb."""

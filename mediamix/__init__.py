"""mediamix: from spend and sales per week to a budget plan you can defend."""

__version__ = "0.1.0"

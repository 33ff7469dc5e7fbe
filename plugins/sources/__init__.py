"""Built-in data sources: synthetic (embedded default), files, ssi, alpaca."""

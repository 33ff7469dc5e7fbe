"""Built-in indicators: trailing average/max/min (daily and per minute of day), SMA, EMA, VWAP."""

"""Alpaca data source (US equities): historical REST and live stream."""

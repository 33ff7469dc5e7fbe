"""Dagster code location of sessiond: trading-day partitioned loads, indicators and checks."""

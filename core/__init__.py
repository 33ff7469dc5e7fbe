"""sessiond's shared foundation: models, store, calendars, phases, config, settings, errors.

`core` imports nothing else of sessiond's; every other package builds on it.
"""

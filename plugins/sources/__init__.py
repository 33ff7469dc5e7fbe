"""Built-in data sources: synthetic (embedded default), files, ssi, alpaca.

``boards`` holds the board rules they share (tick grid, daily price limits, round lots).
Each source module registers itself through ``register_data_sources``, like a third party.
"""

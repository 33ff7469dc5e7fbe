"""Per-event aggregation of the streamed data.

- ``bars``: larger bars (5m ... 1d) from the streamed smallest interval, session-aligned.
- ``order_flow``, ``foreign``, ``market``: active buy/sell by phase, foreign flows, index and
  futures basis trackers.
"""

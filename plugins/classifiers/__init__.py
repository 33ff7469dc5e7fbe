"""Built-in trade classifiers: vendor side, quote rule, tick rule, Lee-Ready, EMO."""

"""Market prices: the sourced price history (prices) and the decline of a capability's price over time (trend)."""

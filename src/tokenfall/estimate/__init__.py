"""Estimates for what was not measured here: training compute and cost (training)."""

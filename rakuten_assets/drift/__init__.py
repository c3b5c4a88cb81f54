"""Drift monitoring: signals of the logged predictions, statistics, reports, alerts."""

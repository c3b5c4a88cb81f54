"""Model pipeline, rebalancing and evaluation: plain functions that know nothing of Dagster."""

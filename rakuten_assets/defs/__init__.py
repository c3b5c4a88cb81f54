"""Dagster objects of the code location; the domain code they call lives outside this package."""

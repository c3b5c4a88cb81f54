"""Templates of the generated DAG files, and the Dagster client code they all carry."""

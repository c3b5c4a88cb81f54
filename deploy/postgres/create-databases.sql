-- Run once by the postgres image on an empty data volume (/docker-entrypoint-initdb.d).
-- The product database `rakuten` is created from POSTGRES_DB; Dagster, MLflow and Airflow get
-- their own.
CREATE DATABASE dagster;
CREATE DATABASE mlflow;
CREATE DATABASE airflow;

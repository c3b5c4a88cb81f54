# One image for every service of docker-compose.yml (Dagster code server, webserver and daemon,
# MLflow server, prediction API); each service only changes the command.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DAGSTER_HOME=/opt/dagster/home \
    DATA_DIR=/data

RUN groupadd --system --gid 10001 rakuten \
    && useradd --system --uid 10001 --gid rakuten --home-dir /opt/dagster --shell /usr/sbin/nologin rakuten

WORKDIR /opt/dagster/app

# Dependencies and code in one step: the pins live in pyproject.toml.
COPY pyproject.toml ./
COPY rakuten_assets ./rakuten_assets
COPY serving ./serving
COPY ui ./ui
COPY airflow_bridge ./airflow_bridge
RUN pip install .

COPY alembic.ini workspace.yaml ./
COPY deploy ./deploy
COPY deploy/dagster.yaml /opt/dagster/home/dagster.yaml

# Mount points of the named volumes: created here so that new volumes are owned by the app user.
RUN mkdir -p /data /opt/dagster/compute_logs /opt/airflow/dags \
    && chown -R rakuten:rakuten /data /opt/dagster /opt/airflow

USER rakuten

EXPOSE 3000 4000 5000 8000 8501

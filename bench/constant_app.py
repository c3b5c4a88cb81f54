"""The HTTP ceiling for ``bench/serving.py``: a FastAPI ``POST /predict`` returning a constant.

Same framework and server as the prediction API (FastAPI under uvicorn), no model, no logging:
whatever throughput it reaches is the most any FastAPI endpoint can do on this machine.

    .venv/bin/uvicorn bench.constant_app:app --port 8001
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

app = FastAPI(title="constant endpoint (HTTP ceiling)")

ANSWER: dict[str, Any] = {
    "prediction_id": "00000000-0000-0000-0000-000000000000",
    "prdtypecode": 1920,
    "label": "Linge de maison",
    "confidence": 0.91,
    "top_k": [{"prdtypecode": 1920, "label": "Linge de maison", "probability": 0.91}],
    "model_version": 1,
}


@app.get("/health")
async def health() -> dict[str, str]:
    return {"status": "ok"}


@app.post("/predict")
async def predict() -> dict[str, Any]:
    return ANSWER

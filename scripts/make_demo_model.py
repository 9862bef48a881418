"""Produce src/batchscore/demo/isolation_forest.pmml, the demo's anomaly model.

Run once by a developer (needs scikit-learn 1.9.0, sklearn2pmml and Java; the service needs
none of them):

    .venv/bin/pip install scikit-learn==1.9.0 sklearn2pmml pandas
    PYTHONPATH=src .venv/bin/python scripts/make_demo_model.py
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.ensemble import IsolationForest
from sklearn2pmml import sklearn2pmml
from sklearn2pmml.pipeline import PMMLPipeline

from batchscore.demo.signals import SERIES, device_readings, normal_readings
from batchscore.runtime.pmml.engine import PmmlEngine

OUT = Path(__file__).resolve().parents[1] / "src" / "batchscore" / "demo" / "isolation_forest.pmml"


def main() -> None:
    rng = np.random.default_rng(2026)
    frame = pd.DataFrame(normal_readings(rng, 5000), columns=list(SERIES))
    pipeline = PMMLPipeline(
        [
            (
                "detector",
                IsolationForest(
                    n_estimators=50, max_samples=128, contamination=0.01, random_state=7
                ),
            )
        ]
    )
    pipeline.fit(frame)
    sklearn2pmml(pipeline, str(OUT))
    text = OUT.read_text()
    # Name the model as the jobs refer to it.
    text = text.replace("<MiningModel ", '<MiningModel modelName="DemoIsolationForest" ', 1)
    OUT.write_text(text)
    print(f"wrote {OUT} ({OUT.stat().st_size} bytes)")
    # Our engine must agree with scikit-learn on the file just written.
    check = pd.DataFrame(device_readings(rng, 2000, 0.1), columns=list(SERIES))
    ours = PmmlEngine().load(OUT.read_bytes()).score({c: check[c].to_numpy() for c in SERIES})
    theirs = pipeline.steps[-1][1].decision_function(check.astype(np.float32))
    worst = float(np.max(np.abs(ours["decisionFunction"] - theirs)))
    print(f"max |decisionFunction - sklearn| = {worst:.3g}")
    assert worst < 1e-9


if __name__ == "__main__":
    main()

"""Synthetic accelerometer and gyroscope signals of the demo devices. Pure.

The demo model (``isolation_forest.pmml``) was trained on ``normal_readings`` by
``scripts/make_demo_model.py``; the simulator draws from the same distribution and, for the
device marked anomalous, now and then from a shifted one, so the model has outliers to find.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

SERIES = {
    "accelerationX": ("c8y_Acceleration", "accelerationX", "m/s2"),
    "accelerationY": ("c8y_Acceleration", "accelerationY", "m/s2"),
    "accelerationZ": ("c8y_Acceleration", "accelerationZ", "m/s2"),
    "gyroX": ("c8y_Gyroscope", "gyroX", "rad/s"),
    "gyroY": ("c8y_Gyroscope", "gyroY", "rad/s"),
    "gyroZ": ("c8y_Gyroscope", "gyroZ", "rad/s"),
}
MEAN = np.array([0.0, 0.0, 9.81, 0.0, 0.0, 0.0])
SCALE = np.array([0.15, 0.15, 0.1, 0.05, 0.05, 0.05])
ANOMALY_SHIFT = np.array([1.2, -0.9, 1.5, 0.6, -0.5, 0.4])


def normal_readings(rng: np.random.Generator, n: int) -> npt.NDArray[np.float64]:
    """``n`` rows of the six series (columns in ``SERIES`` order) of a healthy machine."""
    return MEAN + SCALE * rng.standard_normal((n, len(SERIES)))


def device_readings(
    rng: np.random.Generator, n: int, anomaly_rate: float
) -> npt.NDArray[np.float64]:
    """Healthy readings where a fraction ``anomaly_rate`` of rows is shifted (a loose bearing)."""
    rows = normal_readings(rng, n)
    hit = rng.random(n) < anomaly_rate
    rows[hit] += ANOMALY_SHIFT * (1 + rng.random((int(hit.sum()), 1)))
    return np.round(rows, 4)

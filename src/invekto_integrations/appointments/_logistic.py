"""A small, dependency-free, deterministic L2-regularised logistic regression (Newton / IRLS).

Pure Python on purpose (numpy is not a dependency): a dozen features and tens of thousands of
rows fit in well under a second per Newton step, and the result is exactly reproducible.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

__all__ = ["fit_logistic", "sigmoid", "solve"]


def sigmoid(z: float) -> float:
    if z >= 0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)


def solve(a: list[list[float]], b: list[float]) -> list[float]:
    """Solve ``a x = b`` by Gaussian elimination with partial pivoting (``a`` is copied)."""
    n = len(b)
    m = [[*row, b[i]] for i, row in enumerate(a)]
    for col in range(n):
        pivot = max(range(col, n), key=lambda r: abs(m[r][col]))
        if abs(m[pivot][col]) < 1e-12:
            raise ArithmeticError("singular system")
        m[col], m[pivot] = m[pivot], m[col]
        p = m[col][col]
        for r in range(col + 1, n):
            f = m[r][col] / p
            if f:
                row, top = m[r], m[col]
                for c in range(col, n + 1):
                    row[c] -= f * top[c]
    x = [0.0] * n
    for r in range(n - 1, -1, -1):
        x[r] = (m[r][n] - sum(m[r][c] * x[c] for c in range(r + 1, n))) / m[r][r]
    return x


def fit_logistic(rows: Sequence[Sequence[float]], labels: Sequence[int], *, l2: float = 1.0,
                 max_iter: int = 50, tol: float = 1e-8, weights: Sequence[float] | None = None) -> list[float]:
    """Maximise the (weighted) log-likelihood minus ``l2/2 * |w[1:]|^2``.

    ``rows`` include a leading 1.0 (the intercept, not penalised). Returns the coefficients.
    """
    if not rows:
        raise ValueError("no rows to fit")
    d = len(rows[0])
    w = [0.0] * d
    wts = weights or [1.0] * len(rows)
    # Rows as (index, value) pairs of their non-zero entries (one-hot features are mostly zero).
    sparse = [[(i, float(v)) for i, v in enumerate(x) if v != 0.0] for x in rows]
    for _ in range(max_iter):
        grad = [0.0] * d
        hess = [[0.0] * d for _ in range(d)]
        for nz, y, s in zip(sparse, labels, wts, strict=True):
            p = sigmoid(sum(w[i] * xi for i, xi in nz))
            r = s * (y - p)
            v = s * p * (1.0 - p)
            for a, (i, xi) in enumerate(nz):
                grad[i] += r * xi
                vxi = v * xi
                hrow = hess[i]
                for j, xj in nz[a:]:
                    hrow[j] += vxi * xj
        for i in range(d):
            for j in range(i):
                hess[i][j] = hess[j][i]  # only the upper triangle (j >= i) was accumulated
        for i in range(1, d):
            grad[i] -= l2 * w[i]
            hess[i][i] += l2
        hess[0][0] += 1e-9
        step = solve(hess, grad)
        w = [wi + si for wi, si in zip(w, step, strict=True)]
        if max(abs(si) for si in step) < tol:
            break
    return w

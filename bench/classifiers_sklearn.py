"""scikit-learn side of bench/classifiers.ts: HistGradientBoostingClassifier and LogisticRegression on
the same raw files, one thread (OMP_NUM_THREADS=1 set by the caller; threadpoolctl limits BLAS too).

usage: classifiers_sklearn.py DIR ROWS TEST_ROWS COLS TREES SEED
DIR holds x_train.f64, y_train.u8, x_test.f64, y_test.u8. Prints one JSON object.
"""
import json
import os
import sys
import time

import numpy as np
from threadpoolctl import threadpool_limits
import sklearn
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.impute import SimpleImputer
from sklearn.metrics import roc_auc_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler


def main():
    d, rows, test_rows, cols, trees, seed = sys.argv[1:7]
    rows, test_rows, cols, trees, seed = int(rows), int(test_rows), int(cols), int(trees), int(seed)
    x = np.fromfile(os.path.join(d, "x_train.f64"), dtype=np.float64).reshape(rows, cols)
    y = np.fromfile(os.path.join(d, "y_train.u8"), dtype=np.uint8)
    xt = np.fromfile(os.path.join(d, "x_test.f64"), dtype=np.float64).reshape(test_rows, cols)
    yt = np.fromfile(os.path.join(d, "y_test.u8"), dtype=np.uint8)
    out = {"sklearn": sklearn.__version__}
    with threadpool_limits(limits=1):
        m = HistGradientBoostingClassifier(
            max_iter=trees, learning_rate=0.1, max_leaf_nodes=31, max_depth=8, min_samples_leaf=20,
            l2_regularization=1.0, max_bins=255, early_stopping=False, random_state=seed,
        )
        t = time.perf_counter()
        m.fit(x, y)
        s = time.perf_counter() - t
        t = time.perf_counter()
        p = m.predict_proba(xt)[:, 1]
        ps = time.perf_counter() - t
        out["hgb"] = {"seconds": s, "trees": int(m.n_iter_), "auc": float(roc_auc_score(yt, p)), "predictSeconds": ps}
        # The same model as ours: mean imputation, standardisation, a small L2 penalty (C = 1 / (l2 · n)).
        lr = make_pipeline(SimpleImputer(strategy="mean"), StandardScaler(), LogisticRegression(C=1.0 / (1e-4 * rows), max_iter=1000))
        t = time.perf_counter()
        lr.fit(x, y)
        s = time.perf_counter() - t
        out["logistic"] = {"seconds": s, "auc": float(roc_auc_score(yt, lr.predict_proba(xt)[:, 1]))}
    print(json.dumps(out))


if __name__ == "__main__":
    main()

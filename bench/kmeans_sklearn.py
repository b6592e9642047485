"""scikit-learn side of bench/kmeans.ts: KMeans on the same raw float64 file, same thread count.

usage: kmeans_sklearn.py FILE ROWS COLS K THREADS SEED INIT_JSON
Prints one JSON object: the time of scikit-learn's k-means++ alone, and per algorithm (lloyd, elkan) a
fit from the given initial centres and a fit with its own k-means++ (n_init=1): seconds, iterations,
milliseconds per iteration, inertia.
OMP_NUM_THREADS must be set by the caller before this starts (scikit-learn's OpenMP loops read it);
threadpoolctl also limits BLAS to the same count.
"""
import json
import sys
import time

import numpy as np
from threadpoolctl import threadpool_limits
import sklearn
from sklearn.cluster import KMeans, kmeans_plusplus


def main():
    path, rows, cols, k, threads, seed, init_json = sys.argv[1:8]
    rows, cols, k, threads, seed = int(rows), int(cols), int(k), int(threads), int(seed)
    x = np.fromfile(path, dtype=np.float64).reshape(rows, cols)
    init = np.array(json.loads(init_json), dtype=np.float64).reshape(k, cols)
    out = {"sklearn": sklearn.__version__, "threads": threads}
    with threadpool_limits(limits=threads):
        t = time.perf_counter()
        kmeans_plusplus(x, n_clusters=k, random_state=seed)
        out["initSeconds"] = time.perf_counter() - t
        for algo in ("lloyd", "elkan"):
            # Same start as ours.
            t = time.perf_counter()
            m = KMeans(n_clusters=k, n_init=1, init=init, algorithm=algo).fit(x)
            s = time.perf_counter() - t
            out[algo] = {"seconds": s, "iterations": int(m.n_iter_), "msPerIteration": 1000 * s / m.n_iter_, "inertia": float(m.inertia_)}
            # Its own k-means++ (one run), for the whole-fit time.
            t = time.perf_counter()
            m = KMeans(n_clusters=k, n_init=1, init="k-means++", algorithm=algo, random_state=seed).fit(x)
            s = time.perf_counter() - t
            out[algo + "OwnInit"] = {"seconds": s, "iterations": int(m.n_iter_), "inertia": float(m.inertia_)}
    print(json.dumps(out))


if __name__ == "__main__":
    main()

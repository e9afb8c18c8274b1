"""t-SNE of 2,000 × 128 ShapeNet features: cnnlens (openTSNE) vs. scikit-learn, in one run
(target: under 30 s on 2 cores). python benchmarks/bench_tsne.py"""

from __future__ import annotations

import time

import torch
from sklearn.manifold import TSNE

import cnnlens
from cnnlens.embedding import dataset_features, knn_agreement, tsne
from cnnlens.stimuli import default_probe_set


def timed(fn):
    """(result, seconds) of one call."""
    start = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - start


def main() -> None:
    features = dataset_features(cnnlens.load("shapes"), default_probe_set())
    x, shape = features.values, features.labels[:, 0]
    ours, ours_s = timed(lambda: tsne(x, perplexity=30))
    theirs, theirs_s = timed(
        lambda: TSNE(perplexity=30, init="pca", random_state=0, n_jobs=1).fit_transform(x.numpy())
    )
    print(
        f"t-SNE of {tuple(x.shape)}, one thread each: cnnlens/openTSNE {ours_s:.1f} s, "
        f"sklearn {theirs_s:.1f} s"
    )
    print(f"  sklearn/cnnlens time {theirs_s / ours_s:.1f}x")
    print(
        f"  5-NN shape agreement in 2-D: cnnlens {knn_agreement(ours, shape, normalize=False):.3f},"
        f" sklearn {knn_agreement(torch.from_numpy(theirs), shape, normalize=False):.3f}"
    )


if __name__ == "__main__":
    main()

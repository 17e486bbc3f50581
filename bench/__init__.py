"""patterdash's benchmark suite: side-by-side ratios against baselines measured in the same run.

Run ``python -m bench`` (full, ~15 min) or ``python -m bench --quick`` (~2 min);
results go to ``bench/results/latest.json`` and ``docs/performance.md``.
"""

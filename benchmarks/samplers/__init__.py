"""Side-by-side benchmark of tunelab's samplers against other optimizers (run by hand, not in CI).

.venv/bin/python -m benchmarks.samplers.run --quick
.venv/bin/python -m benchmarks.samplers.run --seeds 5 --budget 100 --ml-budget 60
.venv/bin/python -m benchmarks.samplers.run --overhead --overhead-max 300
"""

# Cell shared by the notebooks: how to run them.
# Included by the sources in notebooks/src/ with "# %include common/running.py".
# ruff: noqa: E402, F821

# %% [markdown]
# **Running it.** On Colab: *Runtime > Run all* (the first cell installs the package; a
# GPU runtime makes training fast). Locally: open it from the repository with the kernel
# of `environment.yml` (or any environment where `pip install -e .` was run); paths are
# relative to the repository. **Smoke mode** (`SMOKE`, or `MASKRCNN_SMOKE=1` in the
# environment) swaps in the synthetic shapes dataset and tiny sizes so that the whole
# notebook runs in about a minute on a CPU; the tests run every notebook that way.

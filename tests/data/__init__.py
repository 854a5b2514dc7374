"""Tests of maskrcnn.data, one module per module of the package."""

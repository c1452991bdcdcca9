"""Slice reports: TFMA Evaluator output -> a self-contained static HTML page (see build.py)."""

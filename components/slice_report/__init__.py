"""SliceReport: a self-contained HTML slice report of an Evaluator's output."""

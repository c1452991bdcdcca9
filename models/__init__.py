"""Model code used by trainer_module.py: architectures, input pipeline, decision rule, export."""

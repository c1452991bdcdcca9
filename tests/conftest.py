"""Shared test set-up: the Keras 2 environment check runs before anything imports TF."""
from pipeline import runtime_env

runtime_env.require_legacy_keras()

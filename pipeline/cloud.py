"""Where the Trainer runs: inside the pipeline's own task, or on Vertex AI Training.

With `vertex_training` on, the pipeline uses TFX's `google_cloud_ai_platform` Trainer: the
same `run_fn` and inputs, but the executor starts a Vertex AI CustomJob in the pipeline
image (optionally with GPUs) and waits for it. Everything else in the pipeline is unchanged.
"""
from typing import Any, Dict, Type

from tfx import v1 as tfx
from tfx.dsl.components.base import base_component

from pipeline.configs import CloudConfig


def trainer_component(config: CloudConfig) -> Type[base_component.BaseComponent]:
  """The Trainer class to instantiate; both take the same arguments."""
  if config.vertex_training:
    return tfx.extensions.google_cloud_ai_platform.Trainer
  return tfx.components.Trainer


def vertex_training_config(config: CloudConfig) -> Dict[str, Any]:
  """Keys the cloud Trainer reads from `custom_config`; empty when training stays local.

  `run_fn` ignores these keys and reads its own (`TrainerConfig`'s fields).
  """
  if not config.vertex_training:
    return {}
  machine_spec = {'machine_type': config.vertex_training_machine_type}
  if config.vertex_training_accelerator_type:
    machine_spec['accelerator_type'] = config.vertex_training_accelerator_type
    machine_spec['accelerator_count'] = config.vertex_training_accelerator_count
  cloud = tfx.extensions.google_cloud_ai_platform
  return {
      cloud.ENABLE_VERTEX_KEY: True,
      cloud.VERTEX_REGION_KEY: config.gcp_region,
      cloud.TRAINING_ARGS_KEY: {
          'project': config.gcp_project,
          'worker_pool_specs': [{
              'machine_spec': machine_spec,
              'replica_count': 1,
              'container_spec': {'image_uri': config.pipeline_image},
          }],
      },
  }

"""Cloud deployment: where the Trainer runs, and what the heavy tasks get on Kubeflow / Vertex.

With `vertex_training` on, the pipeline uses TFX's `google_cloud_ai_platform` Trainer: the
same `run_fn` and inputs, but the executor starts a Vertex AI CustomJob in the pipeline
image (optionally with GPUs) and waits for it. Everything else in the pipeline is unchanged.
"""
from typing import Any, Dict, Type

from google.protobuf import json_format
from kfp.pipeline_spec import pipeline_spec_pb2
from tfx import components as tfx_components
from tfx.dsl.components.base import base_component

from contract import nodes
from pipeline.configs import CloudConfig

ResourceSpec = pipeline_spec_pb2.PipelineDeploymentConfig.PipelineContainerSpec.ResourceSpec

BEAM_TASKS = (nodes.EXAMPLE_GEN, nodes.STATISTICS_GEN, nodes.TRANSFORM, nodes.OVERSAMPLER)
BACKBONE_TASKS = (nodes.EMBEDDER, nodes.TRAINER)
EVALUATOR_TASKS = (nodes.EVALUATOR, nodes.TEST_EVALUATOR)


def _vertex_extensions():
  """TFX's Vertex AI extensions, imported only by a run that trains there: they import the
  Vertex AI SDK, seconds that every other run would pay at its start."""
  from tfx import v1 as tfx  # pylint: disable=g-import-not-at-top
  return tfx.extensions.google_cloud_ai_platform


def trainer_component(config: CloudConfig) -> Type[base_component.BaseComponent]:
  """The Trainer class to instantiate; both take the same arguments."""
  if config.vertex_training:
    return _vertex_extensions().Trainer
  return tfx_components.Trainer


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
  cloud = _vertex_extensions()
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


def task_resources(config: CloudConfig) -> Dict[str, ResourceSpec]:
  """{node id: the container resources of its task} for the heavy tasks.

  Vertex AI picks a machine from them and Kubeflow Pipelines' driver sets them as the pod's
  limits (kubeflow/pipelines, backend/src/v2/driver/driver.go). LocalDagRunner has no such
  setting (it accepts no platform config but Docker's).
  """
  figures = config.resources
  backbone = ResourceSpec(cpu_limit=figures.trainer_cpu,
                          memory_limit=figures.trainer_memory_gb)
  if figures.trainer_accelerator_type:
    backbone.accelerator.type = figures.trainer_accelerator_type
    backbone.accelerator.count = figures.trainer_accelerator_count
  specs = {
      **{node: ResourceSpec(cpu_limit=figures.beam_task_cpu,
                            memory_limit=figures.beam_task_memory_gb)
         for node in BEAM_TASKS},
      **{node: backbone for node in BACKBONE_TASKS},
      **{node: ResourceSpec(cpu_limit=figures.evaluator_cpu,
                            memory_limit=figures.evaluator_memory_gb)
         for node in EVALUATOR_TASKS},
  }
  if config.vertex_training:
    # The task only submits the CustomJob and waits: the job's machine does the training.
    del specs[nodes.TRAINER]
  return specs


def set_task_resources(spec: Dict[str, Any], config: CloudConfig) -> None:
  """Writes `task_resources` into the executors of a compiled PipelineSpec dict.

  Into the spec rather than through each component's `platform_config`: TFX's Kubeflow V2
  step builder drops the platform config of a FileBasedExampleGen (PosterExampleGen).
  """
  executors = spec['deploymentSpec']['executors']
  for node_id, resources in task_resources(config).items():
    task = spec['root']['dag']['tasks'].get(node_id)
    if task is not None:  # PosterEmbedder exists with spans only.
      label = spec['components'][task['componentRef']['name']]['executorLabel']
      executors[label]['container']['resources'] = json_format.MessageToDict(resources)

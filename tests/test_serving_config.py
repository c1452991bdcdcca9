"""The TF Serving deployment files (serving/) agree with each other and with the pipeline."""
import os
import re

from google.protobuf import text_format
from tensorflow_serving.config import model_server_config_pb2
import yaml

from pipeline import configs
from poster_predict import cli

SERVING_DIR = os.path.join(configs.REPO_ROOT, 'serving')


def _read(name):
  with open(os.path.join(SERVING_DIR, name)) as f:
    return f.read()


def _model_config():
  return text_format.Parse(_read('models.config'), model_server_config_pb2.ModelServerConfig())


def _deployment_container():
  deployment = yaml.safe_load(_read('kubernetes/deployment.yaml'))
  (container,) = deployment['spec']['template']['spec']['containers']
  return deployment, container


def test_models_config_parses_as_tf_serving_reads_it():
  (model,) = _model_config().model_config_list.config
  assert model.name == configs.PIPELINE_NAME
  assert model.base_path == f'/models/{configs.PIPELINE_NAME}'
  assert model.model_platform == 'tensorflow'


def test_compose_and_kubernetes_run_the_same_pinned_server_with_the_same_flags():
  compose = yaml.safe_load(_read('docker-compose.yml'))['services']['tf-serving']
  deployment, container = _deployment_container()
  assert compose['image'] == container['image'] == 'tensorflow/serving:2.16.1'
  assert compose['entrypoint'] == container['command'] == ['tensorflow_model_server']
  assert compose['command'] == container['args']
  for flag in ('--port=8500', '--rest_api_port=8501', '--model_config_file=/config/models.config',
               '--enable_batching=true',
               '--batching_parameters_file=/config/batching_parameters.txt'):
    assert flag in container['args']
  base_path = _model_config().model_config_list.config[0].base_path
  assert any(volume.endswith(f':{base_path}:ro') for volume in compose['volumes'])
  assert {'mountPath': base_path, 'name': 'models', 'readOnly': True} in container[
      'volumeMounts']
  assert deployment['spec']['replicas'] >= 1


def test_kubernetes_readiness_waits_for_the_model_and_resources_are_set():
  _, container = _deployment_container()
  probe = container['readinessProbe']['httpGet']
  assert probe['path'].startswith(f'/v1/models/{configs.PIPELINE_NAME}')
  assert probe['port'] == 'http'
  assert {port['name']: port['containerPort'] for port in container['ports']} == {
      'grpc': 8500, 'http': 8501}
  for kind in ('requests', 'limits'):
    assert set(container['resources'][kind]) == {'cpu', 'memory'}
  service = yaml.safe_load(_read('kubernetes/service.yaml'))
  assert {port['port'] for port in service['spec']['ports']} == {8500, 8501}
  kustomization = yaml.safe_load(_read('kustomization.yaml'))
  (config_map,) = kustomization['configMapGenerator']
  assert sorted(config_map['files']) == ['batching_parameters.txt', 'models.config']
  assert set(kustomization['resources']) == {'kubernetes/deployment.yaml',
                                             'kubernetes/service.yaml'}


def test_a_cli_request_fits_the_servers_batches():
  max_batch_size = int(re.search(r'max_batch_size\s*{\s*value:\s*(\d+)\s*}',
                                 _read('batching_parameters.txt')).group(1))
  assert cli.DEFAULT_BATCH_SIZE <= max_batch_size

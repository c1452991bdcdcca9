"""The TF Serving deployment files (serving/) agree with each other and with the pipeline,
and the Kubernetes objects validate offline against Kubernetes' own schemas."""
import glob
import os
import re
import shutil
import subprocess

from google.protobuf import descriptor_pb2
from google.protobuf import descriptor_pool
from google.protobuf import message_factory
from google.protobuf import text_format
import kubernetes_validate
import pytest
from tensorflow_serving.config import model_server_config_pb2
import yaml

from pipeline import configs
from poster_predict import cli

SERVING_DIR = os.path.join(configs.REPO_ROOT, 'serving')
# The Kubernetes release whose schemas the manifests are validated against.
KUBERNETES_VERSION = '1.32'


def _read(name):
  with open(os.path.join(SERVING_DIR, name)) as f:
    return f.read()


def _model_config():
  return text_format.Parse(_read('models.config'), model_server_config_pb2.ModelServerConfig())


def _deployment_container():
  deployment = yaml.safe_load(_read('kubernetes/deployment.yaml'))
  (container,) = deployment['spec']['template']['spec']['containers']
  return deployment, container


def _flag(args, name):
  (value,) = [arg.split('=', 1)[1] for arg in args if arg.startswith(f'--{name}=')]
  return value


def _monitoring_config_class():
  """tensorflow_serving/config/monitoring_config.proto (TF Serving 2.16.1), which the pip
  package of TF Serving's APIs does not ship."""
  proto = descriptor_pb2.FileDescriptorProto(
      name='monitoring_config.proto', package='tensorflow.serving', syntax='proto3')
  prometheus = proto.message_type.add(name='PrometheusConfig')
  prometheus.field.add(name='enable', number=1,
                       type=descriptor_pb2.FieldDescriptorProto.TYPE_BOOL,
                       label=descriptor_pb2.FieldDescriptorProto.LABEL_OPTIONAL)
  prometheus.field.add(name='path', number=2,
                       type=descriptor_pb2.FieldDescriptorProto.TYPE_STRING,
                       label=descriptor_pb2.FieldDescriptorProto.LABEL_OPTIONAL)
  monitoring = proto.message_type.add(name='MonitoringConfig')
  monitoring.field.add(name='prometheus_config', number=1,
                       type=descriptor_pb2.FieldDescriptorProto.TYPE_MESSAGE,
                       type_name='.tensorflow.serving.PrometheusConfig',
                       label=descriptor_pb2.FieldDescriptorProto.LABEL_OPTIONAL)
  pool = descriptor_pool.DescriptorPool()
  pool.Add(proto)
  return message_factory.MessageFactory(pool).GetPrototype(
      pool.FindMessageTypeByName('tensorflow.serving.MonitoringConfig'))


def test_models_config_parses_as_tf_serving_reads_it():
  (model,) = _model_config().model_config_list.config
  assert model.name == configs.PipelineConfig().pipeline_name
  assert model.base_path == f'/models/{configs.PipelineConfig().pipeline_name}'
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
  assert compose['environment'] == {
      variable['name']: variable['value'] for variable in container['env']} == {
          'TF_ENABLE_ONEDNN_OPTS': '1'}
  # Replicas belong to the HorizontalPodAutoscaler alone; a count here would fight it.
  assert 'replicas' not in deployment['spec']


def _batching_parameter(name: str) -> int:
  return int(re.search(rf'{name}\s*{{\s*value:\s*(\d+)\s*}}',
                       _read('batching_parameters.txt')).group(1))


def thread_findings(args, cpus: int, num_batch_threads: int, max_batch_size: int):
  """What in the server's flags does not follow its CPU limit. Computing pools are the limit;
  request threads, which wait for their batch, fill every batch thread's batch with
  one-poster requests. Each flag must be set: TF Serving's defaults count the node's cores
  (server.h: grpc_max_threads and http_num_threads are 4 x NumSchedulableCPUs)."""
  wanted = {'tensorflow_intra_op_parallelism': cpus, 'tensorflow_inter_op_parallelism': cpus,
            'grpc_max_threads': max_batch_size * num_batch_threads,
            'rest_api_num_threads': max_batch_size * num_batch_threads}
  findings = [] if num_batch_threads == cpus else [f'num_batch_threads={num_batch_threads}']
  for name, value in wanted.items():
    given = [arg.split('=', 1)[1] for arg in args if arg.startswith(f'--{name}=')]
    if given != [str(value)]:
      findings.append(f'--{name}: {given or "unset"}, wanted {value}')
  return findings


def test_every_thread_count_follows_the_cpu_limit():
  compose = yaml.safe_load(_read('docker-compose.yml'))['services']['tf-serving']
  _, container = _deployment_container()
  cpus = int(container['resources']['limits']['cpu'])
  assert int(container['resources']['requests']['cpu']) == cpus == int(compose['cpus'])
  assert thread_findings(container['args'], cpus, _batching_parameter('num_batch_threads'),
                         _batching_parameter('max_batch_size')) == []


def test_the_thread_check_sees_a_pool_left_to_its_default():
  _, container = _deployment_container()
  args = [arg for arg in container['args'] if not arg.startswith('--grpc_max_threads=')]
  assert thread_findings(args, 2, 2, 32) == ['--grpc_max_threads: unset, wanted 64']
  assert thread_findings(container['args'], 4, 2, 32)[0] == 'num_batch_threads=2'


def test_grpc_channel_arguments_parse_as_tf_serving_parses_them():
  """server.cc, parseGrpcChannelArgs: comma-separated key=value pairs, integers as ints."""
  _, container = _deployment_container()
  arguments = dict(pair.split('=') for pair in
                   _flag(container['args'], 'grpc_channel_arguments').split(','))
  assert int(arguments['grpc.max_connection_age_ms']) <= 600_000
  assert int(arguments['grpc.max_connection_age_grace_ms']) >= 10_000


def test_probes_give_a_slow_start_time_and_then_watch_the_server():
  _, container = _deployment_container()
  startup = container['startupProbe']
  # Loading and warming up a version can take minutes on 2 CPUs; liveness waits for it.
  assert startup['periodSeconds'] * startup['failureThreshold'] >= 300
  assert startup['tcpSocket']['port'] == container['livenessProbe']['tcpSocket']['port']
  assert 'initialDelaySeconds' not in container['livenessProbe']


def test_prometheus_metrics_are_on_where_the_pods_say():
  monitoring = text_format.Parse(_read('monitoring.config'), _monitoring_config_class()())
  assert monitoring.prometheus_config.enable
  deployment, container = _deployment_container()
  assert (_flag(container['args'], 'monitoring_config_file')
          == '/config/monitoring.config')
  annotations = deployment['spec']['template']['metadata']['annotations']
  assert annotations['prometheus.io/path'] == monitoring.prometheus_config.path
  assert int(annotations['prometheus.io/port']) == 8501


def _objects(paths_or_text):
  return [document for document in yaml.safe_load_all(paths_or_text) if document]


def _manifests():
  return [document for path in sorted(glob.glob(os.path.join(SERVING_DIR, 'kubernetes', '*')))
          for document in _objects(open(path).read())]


def _validate(objects):
  for document in objects:
    kubernetes_validate.validate(document, KUBERNETES_VERSION, strict=True)


def _selects_the_pods(objects):
  by_kind = {document['kind']: document for document in objects}
  pods = by_kind['Deployment']['spec']['template']['metadata']['labels']
  selectors = [by_kind['Deployment']['spec']['selector']['matchLabels'],
               by_kind['PodDisruptionBudget']['spec']['selector']['matchLabels'],
               *(document['spec']['selector'] for document in objects
                 if document['kind'] == 'Service'),
               *(constraint['labelSelector']['matchLabels'] for constraint in
                 by_kind['Deployment']['spec']['template']['spec']['topologySpreadConstraints'])]
  for selector in selectors:
    assert selector and selector.items() <= pods.items()
  target = by_kind['HorizontalPodAutoscaler']['spec']['scaleTargetRef']
  assert (target['kind'], target['name']) == ('Deployment',
                                              by_kind['Deployment']['metadata']['name'])


def test_each_kubernetes_manifest_is_valid_on_its_own():
  objects = _manifests()
  assert sorted(document['kind'] for document in objects) == [
      'Deployment', 'HorizontalPodAutoscaler', 'PodDisruptionBudget', 'Service', 'Service']
  _validate(objects)
  _selects_the_pods(objects)


def test_a_manifest_without_a_selector_is_refused():
  deployment, _ = _deployment_container()
  del deployment['spec']['selector']
  with pytest.raises(kubernetes_validate.ValidationError, match='selector'):
    kubernetes_validate.validate(deployment, KUBERNETES_VERSION, strict=True)


@pytest.mark.skipif(shutil.which('kubectl') is None,
                    reason='kubectl (Debian package kubectl) renders the kustomization')
def test_the_kustomization_renders_valid_objects():
  rendered = subprocess.run(['kubectl', 'kustomize', SERVING_DIR], check=True,
                            capture_output=True, text=True).stdout
  objects = _objects(rendered)
  _validate(objects)
  _selects_the_pods(objects)
  (config_map,) = [o for o in objects if o['kind'] == 'ConfigMap']
  for name in ('models.config', 'batching_parameters.txt', 'monitoring.config'):
    assert config_map['data'][name] == _read(name)


def test_kubernetes_readiness_waits_for_the_model_and_resources_are_set():
  _, container = _deployment_container()
  probe = container['readinessProbe']['httpGet']
  assert probe['path'].startswith(f'/v1/models/{configs.PipelineConfig().pipeline_name}')
  assert probe['port'] == 'http'
  assert {port['name']: port['containerPort'] for port in container['ports']} == {
      'grpc': 8500, 'http': 8501}
  for kind in ('requests', 'limits'):
    assert set(container['resources'][kind]) == {'cpu', 'memory'}
  service = yaml.safe_load(_read('kubernetes/service.yaml'))
  assert [port['port'] for port in service['spec']['ports']] == [8501]
  kustomization = yaml.safe_load(_read('kustomization.yaml'))
  (config_map,) = kustomization['configMapGenerator']
  assert sorted(config_map['files']) == ['batching_parameters.txt', 'models.config',
                                         'monitoring.config']
  assert sorted(kustomization['resources']) == sorted(
      os.path.relpath(path, SERVING_DIR)
      for path in glob.glob(os.path.join(SERVING_DIR, 'kubernetes', '*.yaml')))


def grpc_balancing_findings(services):
  """Why gRPC calls would not spread over the replicas: a Service with the gRPC port must be
  headless (clusterIP None), so that clients resolve every ready pod and balance their calls
  (a cluster IP pins each HTTP/2 connection, and with it every call, to one pod)."""
  return [service['metadata']['name'] for service in services
          if any(port['name'] == 'grpc' for port in service['spec']['ports'])
          and service['spec'].get('clusterIP') != 'None']


def _services():
  return [document for document in _manifests() if document['kind'] == 'Service']


def test_grpc_reaches_every_replica_through_a_headless_service():
  services = _services()
  assert grpc_balancing_findings(services) == []
  [grpc_service] = [service for service in services
                    if any(port['name'] == 'grpc' for port in service['spec']['ports'])]
  assert grpc_service['spec']['ports'] == [{'name': 'grpc', 'port': 8500, 'targetPort': 'grpc'}]


def test_the_balancing_check_sees_grpc_behind_a_cluster_ip():
  service = yaml.safe_load(_read('kubernetes/service.yaml'))
  service['spec']['ports'].append({'name': 'grpc', 'port': 8500, 'targetPort': 'grpc'})
  assert grpc_balancing_findings([service]) == ['poster-genres-serving']


def spread_findings(deployment):
  """Why losing one node could take several replicas: the pods must spread over nodes, with
  DoNotSchedule, and the constraint must count this Deployment's pods."""
  pod_labels = deployment['spec']['template']['metadata']['labels']
  for constraint in deployment['spec']['template']['spec'].get('topologySpreadConstraints', []):
    if (constraint['topologyKey'] == 'kubernetes.io/hostname'
        and constraint['whenUnsatisfiable'] == 'DoNotSchedule'
        and constraint['maxSkew'] == 1
        and constraint['labelSelector']['matchLabels'].items() <= pod_labels.items()):
      return []
  return ['no one-per-node spread over kubernetes.io/hostname']


def test_replicas_spread_across_nodes():
  deployment, _ = _deployment_container()
  assert spread_findings(deployment) == []


def test_the_spread_check_sees_replicas_free_to_share_a_node():
  deployment, _ = _deployment_container()
  for constraint in deployment['spec']['template']['spec']['topologySpreadConstraints']:
    constraint['whenUnsatisfiable'] = 'ScheduleAnyway'
  assert spread_findings(deployment) != []


def test_a_cli_request_fits_the_servers_batches():
  assert cli.DEFAULT_BATCH_SIZE <= _batching_parameter('max_batch_size')

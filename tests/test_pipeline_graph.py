"""The DAG create_pipeline builds: where the backbone runs, and what its cache key holds."""
from contract import nodes
from pipeline import configs
from pipeline import pipeline


def _nodes(tmp_path, **overrides):
  config = configs.PipelineConfig.of(pipeline_root=str(tmp_path / 'root'), **overrides)
  return {node.id: node for node in pipeline.create_pipeline(config).components}


def _examples_producer(node):
  return node.inputs['examples'].producer_component_id


def test_a_frozen_backbone_runs_once_per_poster_and_everything_reads_its_embeddings(tmp_path):
  graph = _nodes(tmp_path)
  for node in (nodes.OVERSAMPLER, nodes.EVALUATOR, nodes.TEST_EVALUATOR, nodes.SLICE_REPORT):
    assert _examples_producer(graph[node]) == nodes.EMBEDDER, node


def test_a_retrain_with_other_head_settings_finds_the_embeddings_cached(tmp_path):
  def embedder_properties(**overrides):
    return _nodes(tmp_path, **overrides)[nodes.EMBEDDER].exec_properties
  assert embedder_properties() == embedder_properties(seed=1, head_dropout=0.25, epochs=3)
  assert embedder_properties() != embedder_properties(model_name='efficientnet_lite2')


def test_a_model_without_a_frozen_backbone_reads_the_ingested_examples(tmp_path):
  graph = _nodes(tmp_path, model_name='simple_cnn')
  assert nodes.EMBEDDER not in graph
  for node in (nodes.OVERSAMPLER, nodes.EVALUATOR, nodes.TEST_EVALUATOR):
    assert _examples_producer(graph[node]) == nodes.EXAMPLE_GEN, node

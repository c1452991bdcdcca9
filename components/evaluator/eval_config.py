"""TFMA configuration: per-genre and macro-averaged metrics, slices, plots, and the push gate.

Labels are dense multi-hot vectors (`labels_xf`, from the model's `transform_features`). The model has two
outputs that matter here (models/export.py): `scores`, one sigmoid score per genre, and
`predicted`, the 0/1 decisions of the model's own per-genre decision rule. TFMA sees the model
as multi-output (no single `prediction_key`), so that:
  - threshold-free metrics (AUC-PR, calibration, the PR-curve and calibration plots) are
    computed on `scores`;
  - precision, recall and F1 are computed on `predicted` (binarized at 0.5, i.e. exactly the
    served decisions), so they are the numbers at the thresholds the model ships with.
Per-genre metrics binarize by class id; macro averages need `class_weights` (every genre
weighs 1). Every per-genre and macro metric is a member of the vectorised family of
components/evaluator/genre_metrics.py, with the built-ins' keys: two combiners per model and
slice count every genre at once, where TFMA's built-ins run one per genre, metric, slice and
model.

The push gate (`gate=`), all on AUC-PR of `scores`, on the overall slice of `eval`:
  - macro: at least a floor, and no drop beyond a tolerance vs the served model, averaged
    over the genres both models know (all of them unless the vocabulary changed);
  - every judged genre (components/evaluator/genre_judging.py decides which, and why the
    others are not): above its chance level (`ap_over_chance` >= 0: its AUC-PR exceeds the
    AUC-PR that random scores stay below with probability `chance_confidence`, for its
    positives and posters on `eval`; genre_metrics.GenreAPOverChance), and no drop beyond
    `genre_drop_scale / sqrt(n)` vs the served model on the same posters.
Each judged genre is a MetricsSpec of its own (binarized on its class id alone), because a
threshold applies to every class of its spec and tolerances differ per genre. Per-class
thresholds are not slices: they stay on the overall slice. The gate stays unsliced because
TFMA applies a MetricConfig threshold to every slice, and a slice of a dozen posters would
veto good models. TFMA skips change thresholds while no model is served yet.
"""
from typing import List, Optional, Sequence

from google.protobuf import json_format
import tensorflow_model_analysis as tfma

from components.evaluator import genre_judging
from components.evaluator import genre_metrics
from components.evaluator.gate_config import GateConfig
from contract import features
from models import export
from models import pr_auc

# Plot resolution: enough for a readable curve, small enough to keep the plots artifact (one
# plot per genre and slice) a few MB.
PR_CURVE_THRESHOLDS = 100
CALIBRATION_BUCKETS = 10
AUC_PR_THRESHOLDS = pr_auc.GATE_THRESHOLDS

# One slice per value of each feature: the multivalent `genres` gives one slice per genre.
SLICE_FEATURES = (features.GENRES, features.N_GENRES, features.ASPECT_RATIO_BUCKET,
                  features.SIZE_BUCKET, features.BRIGHTNESS_BUCKET, features.COLOUR_MODE)
CROSS_SLICES = ((features.SIZE_BUCKET, features.BRIGHTNESS_BUCKET),)


def slicing_specs() -> List[tfma.SlicingSpec]:
  return ([tfma.SlicingSpec()]
          + [tfma.SlicingSpec(feature_keys=[name]) for name in SLICE_FEATURES]
          + [tfma.SlicingSpec(feature_keys=list(names)) for names in CROSS_SLICES])


def resolution(sliced: bool) -> genre_metrics.Resolution:
  """The score combiner's settings: the plots only where slices are reported."""
  if sliced:
    return genre_metrics.Resolution(auc_thresholds=AUC_PR_THRESHOLDS,
                                    plot_thresholds=PR_CURVE_THRESHOLDS,
                                    calibration_buckets=CALIBRATION_BUCKETS)
  return genre_metrics.Resolution(auc_thresholds=AUC_PR_THRESHOLDS)


def _classes(class_ids: Sequence[int]) -> tfma.BinarizationOptions:
  return tfma.BinarizationOptions(class_ids={'values': list(class_ids)})


def _no_drop_beyond(tolerance: float) -> tfma.MetricThreshold:
  # TFMA compares `change >= bound`: the epsilon keeps an exact tie with the baseline passing
  # through float rounding.
  return tfma.MetricThreshold(change_threshold=tfma.GenericChangeThreshold(
      direction=tfma.MetricDirection.HIGHER_IS_BETTER, absolute={'value': -tolerance - 1e-10}))


def _at_least(floor: float) -> tfma.MetricThreshold:
  return tfma.MetricThreshold(value_threshold=tfma.GenericValueThreshold(
      lower_bound={'value': floor}))


def _genre_gate_specs(judged: Sequence[genre_judging.Judgement], gate: GateConfig,
                      res: genre_metrics.Resolution) -> List[tfma.MetricsSpec]:
  """One spec per judged genre: its AUC-PR's no-regression check and its chance criterion,
  with the chance level beside it for the gate's table."""
  chance = dict(confidence=gate.chance_confidence)
  return [tfma.MetricsSpec(
      metrics=[
          genre_metrics.metric_config('AUCPrecisionRecall', res,
                                      _no_drop_beyond(genre.tolerance)),
          genre_metrics.metric_config(genre_metrics.GenreAPOverChance.__name__, res,
                                      _at_least(0.0), **chance),
          genre_metrics.metric_config(genre_metrics.GenreChanceLevel.__name__, res, **chance),
      ],
      output_names=[export.SCORES], binarize=_classes([genre.class_id])) for genre in judged]


def build_eval_config(num_genres: int, gate: Optional[GateConfig] = None,
                      judged: Sequence[genre_judging.Judgement] = (),
                      macro_class_ids: Optional[Sequence[int]] = None,
                      sliced: bool = True,
                      signature: str = export.TF_EXAMPLE_SIGNATURE,
                      baseline_signature: Optional[str] = None) -> tfma.EvalConfig:
  """`signature`: the candidate's signature TFMA scores it through
  (components/evaluator/signatures.py); `baseline_signature`: the served model's, when there
  is one to compare with.
  `gate`: the push gate's criteria, applied to the macro average and to each genre of
  `judged` (Judgements whose `judged` is true). Without it, metrics are computed and nothing
  is gated (reporting).
  `macro_class_ids`: the genres the macro averages run over (default all): only those both
  the candidate and the served model know, when the vocabulary changed.
  `sliced`: every slice of `slicing_specs()` and the plots; without, the overall slice's
  metrics only (all the gate needs: slices and plots cost most of an evaluation's time)."""
  if judged and gate is None:
    raise ValueError('Judged genres need the gate criteria.')
  if not all(genre.judged for genre in judged):
    raise ValueError('Only judged genres get gate specs.')
  class_ids = list(range(num_genres))
  judged_ids = {genre.class_id for genre in judged}
  if not judged_ids <= set(class_ids):
    raise ValueError(f'Judged class ids {sorted(judged_ids)} outside {num_genres} genres.')
  macro_ids = class_ids if macro_class_ids is None else sorted(macro_class_ids)
  if not macro_ids or not set(macro_ids) <= set(class_ids):
    raise ValueError(f'Macro class ids {macro_ids} are not a subset of {num_genres} genres.')
  res = resolution(sliced)

  def scores(*names, threshold_of=lambda name: None):
    return [genre_metrics.metric_config(n, res, threshold_of(n)) for n in names]

  # No `binarize` on the macro specs: with it, a threshold would also apply to every genre.
  macro = tfma.AggregationOptions(macro_average=True,
                                  class_weights={i: 1.0 for i in macro_ids})
  def macro_gate(name):
    if gate is None or name != 'AUCPrecisionRecall':
      return None
    threshold = _at_least(gate.min_macro_pr_auc)
    threshold.MergeFrom(_no_drop_beyond(gate.max_macro_pr_auc_regression))
    return threshold
  plots = ('ConfusionMatrixPlot', 'CalibrationPlot') if sliced else ()
  # The plots of the candidate only: the slice report and the README's notebook read the
  # candidate's, and the served model's plot protos for every genre and slice cost the
  # TestEvaluator about 2 of the 9 s the second model adds (BENCHMARKS.md, "Continuous
  # training"). They share the candidate's score combiner: no extra pass over the posters.
  plot_models = [tfma.CANDIDATE_KEY] if baseline_signature is not None else []
  decisions = ('Precision', 'Recall', 'F1Score')
  # The judged genres' AUC-PR comes from their gate specs, every other genre's from one spec.
  unjudged_ids = [i for i in class_ids if i not in judged_ids]
  def model_spec(signature_name, **naming):
    return tfma.ModelSpec(
        # The model is called through its signatures only: loading it as a plain SavedModel
        # skips the Keras revival that TFMA would otherwise do twice (once just to find out
        # that it is a Keras model).
        model_type=tfma.constants.TF_GENERIC, signature_name=signature_name,
        preprocessing_function_names=[export.TRANSFORM_SIGNATURE],
        label_keys={export.SCORES: features.LABELS_XF, export.PREDICTED: features.LABELS_XF},
        **naming)

  # Named as TFMA names the pair it makes of one spec, each with its own signature.
  model_specs = ([model_spec(signature)] if baseline_signature is None else
                 [model_spec(signature, name=tfma.CANDIDATE_KEY),
                  model_spec(baseline_signature, name=tfma.BASELINE_KEY, is_baseline=True)])
  return tfma.EvalConfig(
      model_specs=model_specs,
      slicing_specs=slicing_specs() if sliced else [tfma.SlicingSpec()],
      # The Keras model's compiled metrics know one output only; everything is listed here.
      options=tfma.Options(include_default_metrics={'value': False}),
      metrics_specs=[
          tfma.MetricsSpec(metrics=[tfma.MetricConfig(class_name='ExampleCount')],
                           output_names=[export.SCORES]),
          tfma.MetricsSpec(metrics=scores('Calibration'), output_names=[export.SCORES],
                           binarize=_classes(class_ids)),
          *([tfma.MetricsSpec(metrics=scores(*plots), output_names=[export.SCORES],
                              binarize=_classes(class_ids), model_names=plot_models)]
            if plots else []),
          *([tfma.MetricsSpec(metrics=scores('AUCPrecisionRecall'),
                              output_names=[export.SCORES], binarize=_classes(unjudged_ids))]
            if unjudged_ids else []),
          *(_genre_gate_specs(judged, gate, res) if judged else []),
          tfma.MetricsSpec(metrics=scores(*decisions), output_names=[export.PREDICTED],
                           binarize=_classes(class_ids)),
          tfma.MetricsSpec(metrics=scores('AUCPrecisionRecall', 'Calibration',
                                          threshold_of=macro_gate),
                           output_names=[export.SCORES], aggregate=macro),
          tfma.MetricsSpec(metrics=scores(*decisions), output_names=[export.PREDICTED],
                           aggregate=macro),
      ])


def to_json(config: tfma.EvalConfig) -> str:
  """The form the Evaluator's `eval_config` execution property takes."""
  return json_format.MessageToJson(config, preserving_proto_field_name=True)

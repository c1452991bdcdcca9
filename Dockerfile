# The pipeline image: every Vertex AI Pipelines / Kubeflow Pipelines 2.x task, the Vertex AI
# Training job and (with POSTER_DATAFLOW_WORKER_SETUP=image) the Dataflow workers run it.
#
#   docker build -t "$POSTER_PIPELINE_IMAGE" . && docker push "$POSTER_PIPELINE_IMAGE"
#
# Build it from the commit you compile the pipeline from (docs/orchestration.md, "Build and
# push the image"). For reproducible builds pin the bases by digest as well as by tag, e.g.
# FROM gcr.io/tfx-oss-public/tfx:1.16.0@sha256:<digest of the tag you tested>.

# Dataflow starts each worker with the Beam SDK's boot program, which must come from the same
# Beam release as the SDK installed below: keep equal to apache-beam in requirements/lock.txt.
ARG BEAM_VERSION=2.74.0
FROM apache/beam_python3.10_sdk:${BEAM_VERSION} AS beam_sdk

# The official TFX image (Python 3.10, like the lock): TFX's Kubeflow V2 and Vertex AI Training
# entry points run from it unchanged.
FROM gcr.io/tfx-oss-public/tfx:1.16.0

# Keras 2 for TFX 1.16, tf.Transform and TFMA, in every process of the image. The package's
# start-up hook (tf_legacy_keras.pth) sets it too; the build checks that below.
ENV TF_USE_LEGACY_KERAS=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1

COPY --from=beam_sdk /opt/apache/beam /opt/apache/beam

# Must equal configs.IMAGE_SOURCE_DIR: Beam's --setup_file points here inside the image.
WORKDIR /pipeline

# The lock alone first, so that this layer is rebuilt only when the lock changes. Build tools
# first, so that the lock's few sdists build with the pinned tools; then the lock without a
# resolver, exactly as scripts/setup_env.sh installs it.
COPY requirements/lock.txt requirements/lock.txt
RUN grep -E '^(pip|setuptools|wheel)==' requirements/lock.txt > /tmp/build-tools.txt \
 && python -m pip install --no-cache-dir --no-deps -r /tmp/build-tools.txt \
 && python -m pip install --no-cache-dir --no-deps -r requirements/lock.txt \
 && rm /tmp/build-tools.txt

# The package itself, not editable, so that its start-up hook lands in site-packages. The
# source stays in /pipeline for Beam's --setup_file.
COPY . .
RUN python -m pip install --no-cache-dir --no-deps --no-build-isolation . \
 && rm -rf build ./*.egg-info \
 && env -u TF_USE_LEGACY_KERAS python -c \
      'import os, sys; sys.exit(os.environ.get("TF_USE_LEGACY_KERAS") != "1")'

# Runs as root, as the TFX image does: Dataflow's boot program pip-installs staged packages
# (TFX stages the Transform module's wheel with --extra_package) into this image's
# site-packages, which root owns. Kubeflow and Vertex AI give their own command; only Dataflow
# workers use this entry point.
ENTRYPOINT ["/opt/apache/beam/boot"]

"""Devices and precision: the tf.distribute strategy that GPU_COUNT asks for, and the Keras
mixed-precision policy that MIXED_PRECISION asks for."""
from __future__ import annotations

import contextlib
import re

import keras
import tensorflow as tf

from ..errors import ConfigError, WorkerLostError


def choose_strategy(config) -> tf.distribute.Strategy:
    """GPU_COUNT 1: the default strategy. GPU_COUNT n > 1: a MirroredStrategy over the first
    n GPUs, or over n logical CPU devices where there are no GPUs (for tests and CPU
    machines; see ``tf.config.set_logical_device_configuration``). Each replica takes
    IMAGES_PER_GPU images of every batch."""
    count = int(config.GPU_COUNT)
    if count == 1:
        return tf.distribute.get_strategy()
    gpus = tf.config.list_logical_devices("GPU")
    devices = gpus if gpus else tf.config.list_logical_devices("CPU")
    if len(devices) < count:
        kind = "GPUs" if gpus else "logical CPU devices (and no GPU)"
        raise ConfigError(f"GPU_COUNT is {count} but this machine has {len(devices)} {kind}; "
                          f"set GPU_COUNT = {len(devices)} or fewer")
    return tf.distribute.MirroredStrategy([d.name for d in devices[:count]])


@contextlib.contextmanager
def precision_policy(precision: str | None):
    """Build layers under Keras' ``mixed_<precision>`` policy, then restore the old one.
    Layers keep the policy they were built with; losses and post-processing run in float32."""
    if precision is None:
        yield
        return
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(f"mixed_{precision}")
    try:
        yield
    finally:
        keras.config.set_dtype_policy(previous)


def cluster_task(strategy) -> tuple[str, int, int] | None:
    """(task type, task index, number of workers) of a MultiWorkerMirroredStrategy over more
    than one worker (chief included); None for any other strategy."""
    if not isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy):
        return None
    resolver = strategy.cluster_resolver
    spec = resolver.cluster_spec()
    jobs = spec.jobs if spec is not None else []
    count = sum(spec.num_tasks(job) for job in jobs if job in ("chief", "worker"))
    if count <= 1:
        return None
    return str(resolver.task_type), int(resolver.task_id), count


def distribute_training_data(strategy, config, make):
    """``make(shard=(index, count))`` -> a tf.data pipeline of ``config.BATCH_SIZE`` batches.
    Over several workers each builds its own pipeline from its share of the images
    (``distribute_datasets_from_function``), so that no image is loaded twice and every
    global batch holds IMAGES_PER_GPU images per replica; otherwise ``make()`` as it is."""
    task = cluster_task(strategy)
    if task is None:
        return make()
    local = strategy.num_replicas_in_sync // task[2]
    if int(config.GPU_COUNT) != local:
        raise ConfigError(f"GPU_COUNT is {config.GPU_COUNT} but each worker of this cluster "
                          f"has {local} replica(s) ({strategy.num_replicas_in_sync} over "
                          f"{task[2]} workers): set GPU_COUNT = {local}, the GPUs of one "
                          "machine; the global batch is IMAGES_PER_GPU x all replicas")

    def per_worker(context):
        return make(shard=(context.input_pipeline_id, context.num_input_pipelines))

    return strategy.distribute_datasets_from_function(per_worker)


LOST = (tf.errors.UnavailableError, tf.errors.DeadlineExceededError, tf.errors.AbortedError,
        tf.errors.CancelledError, tf.errors.InternalError)


def worker_lost_error(err: Exception, strategy, epoch: int, checkpoint: str | None):
    """The WorkerLostError to raise for a collective op that failed because a peer died or
    hung (TensorFlow's own message names the peer's task), or None when ``err`` is not that
    or the strategy spans one worker. ``epoch`` is counted from 1."""
    task = cluster_task(strategy)
    if task is None or not isinstance(err, LOST):
        return None
    message = str(getattr(err, "message", err)).strip()
    found = re.findall(r"/job:(\w+)/replica:\d+/task:(\d+)", message)
    peers = sorted({(job, int(index)) for job, index in found} - {task[:2]})
    lost = (", ".join(f"{job} {index}" for job, index in peers) if peers
            else "another worker")
    resume = (f"the last checkpoint of this worker is {checkpoint}" if checkpoint
              else "no checkpoint of this run was written yet")
    lines = [line.strip() for line in message.splitlines() if line.strip()] or [""]
    first = next((line for line in lines if re.search(r"task:\d|peer|ollective|onnect", line)),
                 lines[0])[:300]
    return WorkerLostError(
        f"multi-worker training stopped in epoch {epoch}: {task[0]} {task[1]} of "
        f"{task[2]} lost {lost} ({type(err).__name__}: {first}). A collective step needs "
        "every worker, so no worker can go on alone: stop the remaining workers, then start "
        "all of them again with the same TF_CONFIG, each loading the chief's (worker 0's) "
        "last checkpoint (model.load_weights(path), or init_with='last' on a shared model "
        f"folder) so that they resume at the same epoch; {resume}.")

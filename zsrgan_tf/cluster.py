"""Many images on a Ray cluster: ``train_one --image FOLDER --ray ADDRESS``.

Each image is one Ray task that runs ``cli.run_image`` on a worker with the
job's settings, exactly as the sequential folder run would. Tasks are
idempotent, so Ray may retry them and users may submit a job again:

- an image whose PNG and run folder exist is skipped ("done before"), unless
  ``--overwrite``;
- an image whose partial folder exists (an interrupted run) is resumed from its
  last checkpoint;
- a task whose worker dies (killed, out of memory, node lost) is retried up to
  ``RETRIES`` times by Ray and resumes the same way.

Every node must see the input and output paths (a shared file system). The
driver ships this package's code to the workers (Ray's ``py_modules``); the
workers need the same dependencies installed, TensorFlow and the weights
included. Ray is imported only here, and only with ``--ray``.
"""

import contextlib
import dataclasses
import logging
import math
import os
import socket
import sys
import time

import zsrgan_tf
from zsrgan_tf import callbacks

# Retries of an image whose worker died (Ray's ``max_retries``); errors of the
# image itself are not retried: they fail the image with its one-line error.
RETRIES = 3
# GPUs per image on a cluster that has GPUs, unless --ray_gpus says otherwise:
# four images share a GPU. One image's whole process peaks at about 2.3 GiB on
# the CPU (docs/results.md, "Large images"); its GPU share is not measured here.
GPUS_PER_IMAGE = 0.25
# Seconds to wait for a remote cluster's address to answer.
CONNECT_SECONDS = 10
# Seconds between progress lines while nothing finishes.
PROGRESS_EVERY = 60


class ClusterError(Exception):
    """Ray is missing or the cluster cannot be reached; one line, exit code 2."""


@dataclasses.dataclass(frozen=True)
class Resources:
    """What each image's task asks of the cluster.

    Attributes:
      cpus: CPU cores, > 0; also TensorFlow's thread count in the task
        (rounded up).
      gpus: GPUs, >= 0; a fraction shares one GPU between images (0.25: four
        per GPU). None: ``GPUS_PER_IMAGE`` when the cluster has GPUs, else 0.
    """

    cpus: float = 1.0
    gpus: float | None = None

    def __post_init__(self):
        if not self.cpus > 0:
            raise ValueError(f"CPUs per image must be > 0, not {self.cpus}")
        if self.gpus is not None and not self.gpus >= 0:
            raise ValueError(f"GPUs per image must be >= 0, not {self.gpus}")


@dataclasses.dataclass(frozen=True)
class Result:
    """One image's row of the job's summary.

    Attributes:
      image: the input path.
      status: "ok", "done before" (skipped: its outputs exist) or "failed".
      detail: the PNG path, or the one-line error.
      seconds: the task's wall time on its worker (0 when skipped).
    """

    image: str
    status: str
    detail: str
    seconds: float


def _import_ray():
    try:
        import ray
    except ImportError:
        raise ClusterError("--ray needs Ray: pip install 'zsrgan-tf[ray]'") from None
    return ray


def _check_reachable(address):
    """Raises ``ClusterError`` unless ``[ray://]HOST:PORT`` accepts a connection
    within ``CONNECT_SECONDS`` (Ray itself retries an unreachable address for
    minutes)."""
    host, _, port = address.removeprefix("ray://").rpartition(":")
    if not host or not port.isdigit():
        raise ClusterError(f"--ray {address}: not local, auto, HOST:PORT or ray://HOST:PORT")
    try:
        socket.create_connection((host.strip("[]"), int(port)), CONNECT_SECONDS).close()
    except OSError as e:
        raise ClusterError(f"--ray {address}: cannot reach {host}:{port} "
                           f"({e.strerror or type(e).__name__})") from None


def connect(address):
    """Starts a Ray cluster in this process (``"local"``, sized to the machine)
    or joins one (``"auto"``: the one ``ray start`` made on this machine;
    ``"HOST:PORT"`` or ``"ray://HOST:PORT"``); returns the ``ray`` module."""
    ray = _import_ray()
    if address not in ("local", "auto"):
        _check_reachable(address)
    runtime_env = {
        "py_modules": [os.path.dirname(zsrgan_tf.__file__)],
        "env_vars": {"TF_CPP_MIN_LOG_LEVEL": os.environ.get("TF_CPP_MIN_LOG_LEVEL", "2"),
                     # Images sharing a GPU take its memory as they need it.
                     "TF_FORCE_GPU_ALLOW_GROWTH": "true"},
    }
    settings = {"runtime_env": runtime_env, "log_to_driver": False,
                "logging_level": "WARNING", "configure_logging": True}
    try:
        if address == "local":
            # Ray's notice that a new local cluster uses its default, token
            # authentication, is not for the user of this tool.
            logging.getLogger("ray._private.authentication.authentication_token_setup") \
                .setLevel(logging.ERROR)
            ray.init(num_cpus=os.cpu_count(), include_dashboard=False, **settings)
        else:
            ray.init(address=address, **settings)
    except Exception as e:  # Ray raises several kinds; one line says which
        message = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise ClusterError(f"--ray {address}: cannot start or join the cluster ({message})") \
            from None
    return ray


def _progress_actor(ray):
    @ray.remote(num_cpus=0)
    class Running:
        """The images whose tasks run now (a task reports its start and end)."""

        def __init__(self):
            self.images = set()

        def start(self, image):
            self.images.add(image)

        def end(self, image):
            self.images.discard(image)

        def count(self):
            return len(self.images)

    return Running.remote()


def _train_image(image, config, options, running):
    """One image on a worker: skipped when done before, resumed when
    interrupted, else trained; returns its ``Result``."""
    import keras

    from zsrgan_tf import cli

    start = time.perf_counter()
    outputs = cli.outputs_of(image, config.scale, options.output_dir)
    if not options.overwrite and os.path.exists(outputs.png) and os.path.isdir(outputs.run_dir):
        return Result(image, "done before", outputs.png, 0.0)
    running.start.remote(image)
    try:
        resume = os.path.isdir(outputs.partial)
        code, detail = cli.run_image(image, config, dataclasses.replace(options, resume=resume),
                                     catch_all=True)
    finally:
        running.end.remote(image)
        keras.backend.clear_session()
    return Result(image, "ok" if code == 0 else "failed", detail, time.perf_counter() - start)


def _task_env(resources, gpus):
    """A task's environment: TensorFlow's thread pools sized to its CPUs (results
    depend on the thread count: a task with n CPUs gives the PNG of a sequential
    run with n threads), and no GPU visible to a CPU-only task."""
    threads = str(math.ceil(resources.cpus))
    env = {"TF_NUM_INTRAOP_THREADS": threads, "TF_NUM_INTEROP_THREADS": threads}
    if not gpus:
        env["CUDA_VISIBLE_DEVICES"] = ""
    return {"env_vars": env}


def _gpus(ray, resources):
    if resources.gpus is not None:
        return resources.gpus
    return GPUS_PER_IMAGE if ray.cluster_resources().get("GPU", 0) > 0 else 0


def run(images, config, options, address, resources=Resources(), stream=sys.stderr):
    """Trains every image as a Ray task; returns their ``Result`` rows in
    ``images``' order.

    Prints a progress line to ``stream`` whenever an image finishes (and every
    ``PROGRESS_EVERY`` seconds): images done, running and failed, and the ETA
    from the job's throughput so far. A failed image prints its error line as
    it comes.

    Args:
      images: input paths every node sees (relative ones to this process's
        working folder).
      config: the ``TrainConfig`` of every image.
      options: the ``cli.RunOptions`` of every image (``resume`` is set per
        image: an interrupted run is always resumed).
      address: ``connect``'s address.
      resources: what each task asks for.
    """
    # Ray prints its cluster's messages (a worker lost, ...) to stdout; they
    # go with the progress lines, leaving stdout to the caller's results.
    with contextlib.redirect_stdout(stream):
        return _run(images, config, options, address, resources, stream)


def _run(images, config, options, address, resources, stream):
    ray = connect(address)
    try:
        gpus = _gpus(ray, resources)
        task = ray.remote(_train_image).options(
            num_cpus=resources.cpus, num_gpus=gpus, max_retries=RETRIES, retry_exceptions=False,
            runtime_env=_task_env(resources, gpus))
        running = _progress_actor(ray)
        # Absolute paths: a worker's working folder is not the driver's.
        options = dataclasses.replace(options, output_dir=os.path.abspath(options.output_dir))
        pending = {task.remote(os.path.abspath(image), config, options, running): image
                   for image in images}
        results, start, trained, shown = {}, time.perf_counter(), 0, None
        while pending:
            ready, _ = ray.wait(list(pending), num_returns=1, timeout=PROGRESS_EVERY)
            for ref in ready:
                image = pending.pop(ref)
                try:
                    result = ray.get(ref)
                except ray.exceptions.RayError as e:  # its retries used up
                    running.end.remote(os.path.abspath(image))
                    cause = str(e).strip().splitlines()[0] if str(e).strip() else ""
                    result = Result(image, "failed", f"{image}: worker lost "
                                    f"{RETRIES + 1} times ({type(e).__name__}: {cause})", 0.0)
                results[image] = dataclasses.replace(result, image=image)
                trained += result.status != "done before"
                if result.status == "failed":
                    print(f"error: {result.detail}", file=stream, flush=True)
            failed = sum(r.status == "failed" for r in results.values())
            line = (len(results), ray.get(running.count.remote()), failed)
            elapsed = time.perf_counter() - start
            if line != shown or not ready:
                left = elapsed / trained * len(pending) if trained else None
                eta = (f"ETA {callbacks.duration(left)}" if left is not None and pending
                       else "ETA unknown" if pending else "finished")
                print(f"images {line[0]}/{len(images)} done, {line[1]} running, {line[2]} failed"
                      f" | {elapsed:.0f} s | {eta}", file=stream, flush=True)
                shown = line
        return [results[image] for image in images]
    finally:
        ray.shutdown()

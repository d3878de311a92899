"""Benchmark reporting: the machine's description and Markdown sections of docs/results.md."""

import json
import os
import platform
import re

from zsrgan_tf import files, precision


def machine():
    """Facts about this machine for benchmark records (CPU model, cores, flags, devices)."""
    model = precision.cpu_info()[0]
    features = sorted(precision.cpu_flags() & {"avx2", "avx512f", "avx512_bf16", "amx_bf16"})
    cores = os.cpu_count()
    gpu = "a GPU" if precision.has_gpu() else "no GPU"
    return {
        "cpu": model,
        "cores": cores,
        "features": features,
        "gpu": precision.has_gpu(),
        "platform": platform.platform(),
        "summary": f"{model}, {cores} cores ({', '.join(features) or 'no AVX2'}), {gpu}",
    }


def write_json(path, data):
    """Writes ``data`` as indented JSON to ``path`` atomically, creating its folder."""
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    files.write_bytes(path, (json.dumps(data, indent=2) + "\n").encode())


def replace_section(path, title, body):
    """Replaces (or appends) the ``## title`` section of a Markdown file with ``body``."""
    text = "# Results\n"
    if os.path.exists(path):
        with open(path) as f:
            text = f.read()
    section = f"## {title}\n\n{body.strip()}\n"
    pattern = re.compile(rf"^## {re.escape(title)}\n.*?(?=^## |\Z)", re.S | re.M)
    if pattern.search(text):
        text = pattern.sub(lambda _: section + "\n", text, count=1).rstrip() + "\n"
    else:
        text = text.rstrip() + "\n\n" + section
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    files.write_bytes(path, text.encode())

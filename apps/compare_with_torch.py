#!/usr/bin/python3
"""Runs PyTorch's reference, numpy's sgemm and tinyq's bench_mnist back to back
with the same settings, and prints the ratios (tinyq / reference) as a
Markdown table, ready to paste into the README.

    /usr/bin/python3 apps/compare_with_torch.py --bench build/apps/bench_mnist \\
        --data /usr/share/datasets/fashion-mnist --threads 2

The machines are shared and noisy, so only ratios from one run mean much.
Needs Debian's python3-torch and python3-numpy. Exit status 1 if a run fails.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time


def run_json(command, env=None):
    print("$ " + " ".join(command), file=sys.stderr, flush=True)
    done = subprocess.run(command, env=env, stdout=subprocess.PIPE, text=True)
    if done.returncode != 0:
        sys.exit("compare_with_torch: %s failed with status %d" % (command[0], done.returncode))
    return done.stdout


# numpy's float32 1024^3 product, in a child process so that the OpenBLAS
# settings below apply (OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE may be set in
# the environment to slow, generic values; unset them as a user would have).
NUMPY_GEMM = r"""
import json, sys, time
import numpy as np
n = 1024
rng = np.random.default_rng(1)
a = rng.standard_normal((n, n), dtype=np.float32)
b = rng.standard_normal((n, n), dtype=np.float32)
a @ b
best = 1e9
for _ in range(10):
    t = time.perf_counter()
    a @ b
    best = min(best, time.perf_counter() - t)
print(json.dumps({"gflops": 2 * n ** 3 / best * 1e-9}))
"""


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bench", default=os.path.join(here, "..", "build", "apps", "bench_mnist"))
    ap.add_argument("--torch-reference",
                    default=os.path.join(here, "..", "..", "shared", "bench", "torch_reference.py"))
    ap.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--hidden", default="256,128")
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--lr", default="0.05")
    ap.add_argument("--momentum", default="0.9")
    a = ap.parse_args()

    torch = json.loads(run_json([
        "/usr/bin/python3", a.torch_reference, "--data", a.data, "--epochs", "1", "--hidden",
        a.hidden, "--batch", str(a.batch), "--lr", a.lr, "--momentum", a.momentum, "--threads",
        str(a.threads)]))

    env = dict(os.environ)
    for name in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"):
        env.pop(name, None)
    env["OPENBLAS_NUM_THREADS"] = env["OMP_NUM_THREADS"] = str(a.threads)
    numpy = json.loads(run_json(["/usr/bin/python3", "-c", NUMPY_GEMM], env=env))

    with tempfile.TemporaryDirectory() as folder:
        report = os.path.join(folder, "bench.json")
        sys.stdout.write(run_json([
            a.bench, "--data", a.data, "--threads", str(a.threads), "--hidden", a.hidden,
            "--batch", str(a.batch), "--lr", a.lr, "--momentum", a.momentum, "--report", report]))
        with open(report) as f:
            tinyq = json.load(f)

    inference = tinyq["inference"]
    cube = [g for g in tinyq["gemm"] if (g["m"], g["k"], g["n"]) == (1024, 1024, 1024)][0]
    rows = [
        ("training samples/s, batch %d" % a.batch, tinyq["train_samples_per_second"],
         "PyTorch", torch["train_samples_per_s"], ">= 2.5"),
        ("float inference, whole test set (samples/s)",
         inference["float"]["full_batch_samples_per_second"], "PyTorch",
         torch["float_inference"]["full_batch_samples_per_s"], ">= 1.0"),
        ("float inference, batch-1 latency (us)", inference["float"]["batch1_us_per_sample"],
         "PyTorch", torch["float_inference"]["batch1_us_per_sample"], "<= 0.5"),
        ("int8 dynamic, whole test set (samples/s)",
         inference["int8_dynamic"]["full_batch_samples_per_second"], "PyTorch quantize_dynamic",
         torch["dynamic_int8_inference"]["full_batch_samples_per_s"], ">= 1.0"),
        ("int8 dynamic, whole test set (samples/s)",
         inference["int8_dynamic"]["full_batch_samples_per_second"], "tinyq float",
         inference["float"]["full_batch_samples_per_second"], ">= 1.5"),
        ("int8 weight-only, whole test set (samples/s)",
         inference["int8_weight_only"]["full_batch_samples_per_second"], "tinyq float",
         inference["float"]["full_batch_samples_per_second"], ">= 0.8"),
        ("int8 dynamic, batch-1 latency (us)", inference["int8_dynamic"]["batch1_us_per_sample"],
         "PyTorch quantize_dynamic", torch["dynamic_int8_inference"]["batch1_us_per_sample"], ""),
        ("GEMM 1024x1024x1024 (GFLOP/s)", cube["gflops"], "numpy float32", numpy["gflops"],
         ">= 0.8"),
    ]
    print("\n%d threads, %s, MLP 784-%s-10, batch %d, PyTorch %s; %s\n" % (
        a.threads, os.path.basename(os.path.normpath(a.data)), a.hidden.replace(",", "-"),
        a.batch, torch["torch"], time.strftime("%Y-%m-%d")))
    print("| measure | tinyq | reference | reference value | ratio | target |")
    print("|---|---:|---|---:|---:|---|")
    for name, ours, reference, theirs, target in rows:
        print("| %s | %.4g | %s | %.4g | %.2f | %s |" % (name, ours, reference, theirs,
                                                         ours / theirs, target))
    print("\naccuracy: tinyq float %.4f, int8 weight-only %.4f, int8 dynamic %.4f (model trained "
          "for bench_mnist's timed batches only); PyTorch float %.4f, quantize_dynamic %.4f (1 epoch)"
          % (inference["float"]["accuracy"], inference["int8_weight_only"]["accuracy"],
             inference["int8_dynamic"]["accuracy"], torch["float_accuracy"],
             torch["dynamic_int8_accuracy"]))


if __name__ == "__main__":
    main()

#!/usr/bin/python3
"""bench_mnist's measurements, made with PyTorch: the peer tinyq is compared with.

    /usr/bin/python3 apps/torch_reference.py --data /usr/share/datasets/fashion-mnist \\
        --threads 2 [--report FILE.json]

It does what apps/bench_mnist.cpp does, step for step, so the two can be put
side by side (apps/compare_with_torch.py runs both and prints the ratios):

- matrix products at the MLP's Dense shapes, C = A·Bᵀ (batch rows and the
  whole test set), and at 1024x1024x1024: best of 5, each repeated for ~0.1 s;
- training samples/s of the same MLP (He-uniform weights, SGD with momentum,
  no weight decay, constant learning rate, softmax cross-entropy, shuffled
  batches, no augmentation): the timed batches follow 20 warm-up ones;
- inference of the model just trained, in float and with PyTorch's dynamic
  int8 quantization (quantize_dynamic: int8 weights, activations quantized per
  call): batch-1 latency over 2000 test samples after 50 warm-up ones, and the
  whole test set in one batch, best of 3 after one warm-up pass; accuracy;
- the same for PyTorch's static int8 quantization (torch.ao.quantization,
  eager mode: QuantStub, each Linear fused with its ReLU, the engine's default
  qconfig, observers calibrated on the first 1024 training images, as
  bench_mnist calibrates tinyq's static int8), engine onednn when this build
  has it, else x86 or fbgemm.

PyTorch has no CPU weight-only int8 Linear, so bench_mnist's int8 weight-only
row has no PyTorch counterpart. The JSON report uses bench_mnist's field names.
Needs Debian's python3-torch and python3-numpy. Exit status 1 on bad input.
"""
import argparse
import copy
import gzip
import json
import os
import sys
import time

import numpy as np
import torch
from torch import nn


def read_idx(path):
    """One IDX file (raw, or gzip when the name ends in .gz) as a uint8 array.

    The header is 0, 0, type 0x08 (unsigned byte), rank, then rank big-endian
    32-bit dimensions; the data must be exactly as long as they say.
    """
    opener = gzip.open if path.endswith(".gz") else open
    try:
        with opener(path, "rb") as f:
            raw = f.read()
    except (OSError, EOFError) as e:  # gzip.BadGzipFile is an OSError
        sys.exit("error: %s: cannot read: %s" % (path, e))
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] != 0x08:
        sys.exit("error: %s: not an unsigned-byte IDX file (bad magic)" % path)
    rank = raw[3]
    header = 4 + 4 * rank
    dims = [int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(rank)]
    expected = header + int(np.prod(dims, dtype=np.int64))
    if len(raw) != expected:
        sys.exit("error: %s: expected %d bytes for shape %s, found %d" %
                 (path, expected, dims, len(raw)))
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(dims)


def find_file(folder, name):
    for candidate in (name, name + ".gz"):
        path = os.path.join(folder, candidate)
        if os.path.exists(path):
            return path
    sys.exit("error: %s: no %s or %s.gz there" % (folder, name, name))


def load_split(folder, prefix):
    """Images as float32 rows in [0, 1] (pixel / 255, as data/mnist.cpp does), labels as int64."""
    images = read_idx(find_file(folder, prefix + "-images-idx3-ubyte"))
    labels = read_idx(find_file(folder, prefix + "-labels-idx1-ubyte"))
    if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
        sys.exit("error: %s: %s images %s and labels %s do not agree" %
                 (folder, prefix, images.shape, labels.shape))
    x = torch.from_numpy(images.reshape(len(images), -1).astype(np.float32) / 255.0)
    return x, torch.from_numpy(labels.astype(np.int64))


def make_mlp(inputs, hidden, outputs):
    """Linear/ReLU stack with tinyq's initialisation: W ~ U(±sqrt(6/in)), b = 0."""
    layers, width = [], inputs
    for h in hidden + [outputs]:
        linear = nn.Linear(width, h)
        bound = (6.0 / width) ** 0.5
        nn.init.uniform_(linear.weight, -bound, bound)
        nn.init.zeros_(linear.bias)
        layers += [linear, nn.ReLU()]
        width = h
    return nn.Sequential(*layers[:-1])  # no ReLU after the last layer


def gemm_gflops(m, k, n):
    a = torch.rand(m, k) * 2 - 1
    b = torch.rand(n, k) * 2 - 1
    best = float("inf")
    for _ in range(5):
        reps, start = 0, time.perf_counter()
        while True:
            torch.mm(a, b.t())
            reps += 1
            if time.perf_counter() - start >= 0.1:
                break
        best = min(best, (time.perf_counter() - start) / reps)
    return 2.0 * m * n * k / best * 1e-9


@torch.inference_mode()
def time_inference(model, images):
    single = min(2000, len(images))
    for i in range(50):
        model(images[i:i + 1])
    start = time.perf_counter()
    for i in range(single):
        model(images[i:i + 1])
    latency = (time.perf_counter() - start) / single
    model(images)
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        model(images)
        best = min(best, time.perf_counter() - start)
    return {"batch1_us_per_sample": latency * 1e6,
            "full_batch_samples_per_second": len(images) / best}


def static_engine():
    """onednn when this PyTorch has it (Debian's build), else x86 or fbgemm."""
    engines = torch.backends.quantized.supported_engines
    for name in ("onednn", "x86", "fbgemm"):
        if name in engines:
            return name
    sys.exit("error: this PyTorch has no x86 quantized engine (has %s)" % engines)


def quantize_static(model, calibration, engine):
    """Eager-mode post-training static quantization of a Linear/ReLU stack."""
    from torch.ao import quantization as tq
    torch.backends.quantized.engine = engine
    layers = list(copy.deepcopy(model))
    wrapped = nn.Sequential(tq.QuantStub(), *layers, tq.DeQuantStub()).eval()
    pairs = [[str(i + 1), str(i + 2)] for i in range(len(layers) - 1)
             if isinstance(layers[i], nn.Linear) and isinstance(layers[i + 1], nn.ReLU)]
    wrapped = tq.fuse_modules(wrapped, pairs)
    wrapped.qconfig = tq.get_default_qconfig(engine)
    tq.prepare(wrapped, inplace=True)
    with torch.inference_mode():
        wrapped(calibration)
    tq.convert(wrapped, inplace=True)
    return wrapped


@torch.inference_mode()
def accuracy(model, images, labels):
    return (model(images).argmax(dim=1) == labels).double().mean().item()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", default="/usr/share/datasets/fashion-mnist",
                        help="folder with the MNIST or Fashion-MNIST IDX files")
    parser.add_argument("--threads", type=int, default=2, help="torch.set_num_threads")
    parser.add_argument("--hidden", default="256,128", help="hidden layer widths")
    parser.add_argument("--batch", type=int, default=64, help="training minibatch size")
    parser.add_argument("--train-batches", type=int, default=600,
                        help="minibatches to time training over (after 20 warm-up ones)")
    parser.add_argument("--lr", type=float, default=0.05, help="learning rate")
    parser.add_argument("--momentum", type=float, default=0.9, help="SGD momentum")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--report", help="also write the results as JSON")
    args = parser.parse_args()
    try:
        hidden = [int(h) for h in args.hidden.split(",")]
    except ValueError:
        sys.exit("error: --hidden: expected widths such as 256,128, found %r" % args.hidden)
    if min(hidden + [args.threads, args.batch, args.train_batches]) < 1:
        sys.exit("error: --hidden, --threads, --batch and --train-batches must be positive")

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    train_x, train_y = load_split(args.data, "train")
    test_x, test_y = load_split(args.data, "t10k")
    features = train_x.shape[1]
    report = {"torch": torch.__version__, "quantized_engine": torch.backends.quantized.engine,
              "threads": args.threads}
    print("PyTorch %s, %d threads, quantized engine %s\n" %
          (torch.__version__, args.threads, torch.backends.quantized.engine))

    widths = [features] + hidden + [10]
    shapes = [(rows, widths[i], widths[i + 1])
              for rows in (args.batch, len(test_x)) for i in range(len(widths) - 1)]
    shapes.append((1024, 1024, 1024))
    report["gemm"] = []
    print("%-22s %10s" % ("gemm m x k x n", "GFLOP/s"))
    for m, k, n in shapes:
        gflops = gemm_gflops(m, k, n)
        print("%-22s %10.1f" % ("%d x %d x %d" % (m, k, n), gflops))
        report["gemm"].append({"m": m, "k": k, "n": n, "gflops": gflops})

    model = make_mlp(features, hidden, 10)
    optimizer = torch.optim.SGD(model.parameters(), lr=args.lr, momentum=args.momentum)
    loss_function = nn.CrossEntropyLoss()  # mean over the batch of -log softmax(z)[label]
    order, position = torch.randperm(len(train_x)), 0

    def step():
        nonlocal order, position
        if position >= len(train_x):  # a new epoch: reshuffle
            order, position = torch.randperm(len(train_x)), 0
        picked = order[position:position + args.batch]
        position += args.batch
        optimizer.zero_grad(set_to_none=True)
        loss_function(model(train_x[picked]), train_y[picked]).backward()
        optimizer.step()
        return len(picked)

    model.train()
    for _ in range(20):
        step()
    samples, start = 0, time.perf_counter()
    for _ in range(args.train_batches):
        samples += step()
    report["train_samples_per_second"] = samples / (time.perf_counter() - start)
    print("\ntraining, batch %d: %.0f samples/s (%d batches)" %
          (args.batch, report["train_samples_per_second"], args.train_batches))

    model.eval()
    dynamic = torch.ao.quantization.quantize_dynamic(model, {nn.Linear}, dtype=torch.qint8)
    report["inference"] = {}
    print("\n%-18s %10s %16s %12s" % ("inference", "batch-1 us", "full samples/s", "accuracy"))
    for name, variant in (("float", model), ("int8_dynamic", dynamic)):
        timing = time_inference(variant, test_x)
        timing["accuracy"] = accuracy(variant, test_x, test_y)
        report["inference"][name] = timing
        print("%-18s %10.1f %16.0f %11.2f%%" % (name, timing["batch1_us_per_sample"],
                                                timing["full_batch_samples_per_second"],
                                                100.0 * timing["accuracy"]))
    engine = static_engine()
    static = quantize_static(model, train_x[:1024], engine)
    timing = time_inference(static, test_x)
    timing["accuracy"] = accuracy(static, test_x, test_y)
    timing["engine"] = engine
    report["inference"]["int8_static"] = timing
    print("%-18s %10.1f %16.0f %11.2f%%  (engine %s)" % (
        "int8_static", timing["batch1_us_per_sample"], timing["full_batch_samples_per_second"],
        100.0 * timing["accuracy"], engine))
    if args.report:
        # Written whole to a temporary name, then renamed: never a partial report.
        temporary = args.report + ".tmp"
        with open(temporary, "w") as f:
            json.dump(report, f, indent=1)
            f.write("\n")
        os.replace(temporary, args.report)


if __name__ == "__main__":
    main()

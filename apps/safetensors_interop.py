#!/usr/bin/env python3
"""Check that tinyq and PyTorch/numpy read each other's safetensors files.

Needs PyTorch and numpy (Debian: python3-torch, python3-numpy) and a built
quantize_eval; no `safetensors` package: the files are written and read here
by hand, following the format's specification, with json and numpy only.

  python3 apps/safetensors_interop.py --data /usr/share/datasets/fashion-mnist \
      --build build

Steps and checks:
  1. Train a 784-256-128-10 ReLU MLP with PyTorch (nn.Sequential, so the
     parameters are named 0.weight, 0.bias, 2.weight, ...) and measure its
     held-out accuracy.
  2. Write its state_dict as safetensors and evaluate that file with
     `quantize_eval --model`: the float accuracy must agree with PyTorch's
     within 0.05 points.
  3. Have quantize_eval export the float model and quantized versions
     (--export); read them back here: the float weights must be bit-identical
     to PyTorch's, the dequantized weights (by the recipe documented in
     quant/quantized_safetensors.hpp) must lie within half a quantization step
     of them, and their accuracy must agree with quantize_eval's within 0.05
     points.
Exits with status 1 if any check fails.
"""
import argparse
import gzip
import json
import pathlib
import struct
import subprocess
import sys
import tempfile

import numpy as np
import torch

DTYPES = {"F32": np.float32, "F64": np.float64, "U8": np.uint8, "I8": np.int8,
          "I32": np.int32, "I64": np.int64, "U16": np.uint16, "I16": np.int16}


def read_idx(path):
    """An IDX file (raw or .gz) as a numpy array."""
    data = pathlib.Path(path).read_bytes()
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    zero, dtype_code, rank = struct.unpack(">HBB", data[:4])
    assert zero == 0 and dtype_code == 0x08, f"{path}: not unsigned-byte IDX data"
    dims = struct.unpack(">" + "I" * rank, data[4:4 + 4 * rank])
    return np.frombuffer(data, np.uint8, offset=4 + 4 * rank).reshape(dims)


def load_split(folder, split):
    folder = pathlib.Path(folder)
    find = lambda stem: next(p for p in (folder / stem, folder / (stem + ".gz")) if p.exists())
    images = read_idx(find(f"{split}-images-idx3-ubyte"))
    labels = read_idx(find(f"{split}-labels-idx1-ubyte"))
    # As tinyq reads them: pixel / 255 in float32.
    return images.reshape(len(images), -1).astype(np.float32) / np.float32(255), labels


def write_safetensors(path, tensors, metadata=None):
    """8-byte little-endian header size, JSON header padded with spaces to a
    multiple of 8, then each tensor's little-endian bytes back to back."""
    header, blobs, offset = {}, [], 0
    if metadata:
        header["__metadata__"] = metadata
    for name, array in tensors.items():
        array = np.ascontiguousarray(array)
        dtype = next(k for k, v in DTYPES.items() if np.dtype(v) == array.dtype)
        blob = array.astype(array.dtype.newbyteorder("<")).tobytes()
        header[name] = {"dtype": dtype, "shape": list(array.shape),
                        "data_offsets": [offset, offset + len(blob)]}
        blobs.append(blob)
        offset += len(blob)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    pathlib.Path(path).write_bytes(struct.pack("<Q", len(text)) + text + b"".join(blobs))


def read_safetensors(path):
    """(tensors by name, metadata), checking the rules of the format."""
    data = pathlib.Path(path).read_bytes()
    (n,) = struct.unpack("<Q", data[:8])
    assert 2 <= n <= min(100_000_000, len(data) - 8) and data[8:9] == b"{", "bad header size"

    def no_duplicates(pairs):
        keys = [k for k, _ in pairs]
        assert len(keys) == len(set(keys)), f"duplicate keys {keys}"
        return dict(pairs)

    header = json.loads(data[8:8 + n].decode("utf-8"), object_pairs_hook=no_duplicates)
    buffer = memoryview(data)[8 + n:]
    metadata = header.pop("__metadata__", {})
    assert all(isinstance(v, str) for v in metadata.values()), "metadata values must be strings"
    tensors, covered = {}, 0
    for name, entry in sorted(header.items(), key=lambda item: item[1]["data_offsets"]):
        assert set(entry) == {"dtype", "shape", "data_offsets"}, f"{name}: fields {set(entry)}"
        begin, end = entry["data_offsets"]
        dtype = np.dtype(DTYPES[entry["dtype"]]).newbyteorder("<")
        count = int(np.prod(entry["shape"], dtype=np.int64))
        assert begin == covered and end - begin == count * dtype.itemsize, f"{name}: bad offsets"
        covered = end
        tensors[name] = np.frombuffer(buffer[begin:end], dtype).reshape(entry["shape"])
    assert covered == len(buffer), "data buffer not covered exactly"
    return tensors, metadata


def dequantize(tensors, metadata, i):
    """Layer i's weights [out, in] from its codes, scales and offsets."""
    scheme, granularity, bits = metadata[f"{i}.weight.format"].split("/")
    bits = int(bits)
    out, in_ = (int(v) for v in metadata[f"{i}.weight.shape"].split(","))
    codes = tensors[f"{i}.weight.codes"]
    stream = np.unpackbits(codes, axis=1, bitorder="little")[:, :in_ * bits]
    q = (stream.reshape(out, in_, bits).astype(np.int64) << np.arange(bits)).sum(-1)
    if scheme == "symmetric":
        q = np.where(q >= 2 ** (bits - 1), q - 2 ** bits, q)
    rows, cols = np.arange(out)[:, None], np.arange(in_)[None, :]
    if granularity == "tensor":
        block = np.zeros((out, in_), np.int64)
    elif granularity == "channel":
        block = np.broadcast_to(rows, (out, in_))
    else:
        group = int(granularity.split("-")[1])
        block = rows * (-(-in_ // group)) + cols // group
    scales = tensors[f"{i}.weight.scales"]
    w = q.astype(np.float32) / scales[block]
    if scheme == "asymmetric":
        w = w + tensors[f"{i}.weight.offsets"][block]
    return w.astype(np.float32), scales[block]


def accuracy(weights, images, labels):
    """Held-out accuracy of Linear/ReLU layers given as [(W, b), ...]."""
    x = torch.from_numpy(images)
    with torch.no_grad():
        for k, (w, b) in enumerate(weights):
            x = x @ torch.from_numpy(np.array(w)).T + torch.from_numpy(np.array(b))
            if k + 1 < len(weights):
                x = torch.relu(x)
    return float((x.argmax(1).numpy() == labels).mean())


def train_mlp(train_x, train_y, widths, epochs, seed, cosine=False):
    """A ReLU MLP of the given widths (784, ..., 10) trained by PyTorch: SGD with
    momentum 0.9, learning rate 0.05 (cosine-annealed to 0 over the run if
    cosine), batches of 64 in a new random order each epoch. Returns the model;
    its state_dict names are PyTorch's own (0.weight, 0.bias, 2.weight, ...)."""
    torch.manual_seed(seed)
    layers = []
    for k in range(len(widths) - 1):
        layers.append(torch.nn.Linear(widths[k], widths[k + 1]))
        if k + 2 < len(widths):
            layers.append(torch.nn.ReLU())
    model = torch.nn.Sequential(*layers)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    batches = -(-len(train_x) // 64)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, epochs * batches) if cosine else None
    x_all, y_all = torch.from_numpy(train_x), torch.from_numpy(train_y.astype(np.int64))
    for _ in range(epochs):
        order = torch.randperm(len(x_all))
        for start in range(0, len(order), 64):
            batch = order[start:start + 64]
            optimizer.zero_grad()
            torch.nn.functional.cross_entropy(model(x_all[batch]), y_all[batch]).backward()
            optimizer.step()
            if schedule is not None:
                schedule.step()
    return model


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
    parser.add_argument("--build", default="build", help="meson build folder with apps/")
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--workdir", help="keep the files here (default: a temporary folder)")
    args = parser.parse_args()
    quantize_eval = pathlib.Path(args.build) / "apps" / "quantize_eval"
    work = pathlib.Path(args.workdir or tempfile.mkdtemp(prefix="tinyq_interop_"))
    work.mkdir(parents=True, exist_ok=True)
    failures = []

    def check(ok, text):
        print(("ok    " if ok else "FAIL  ") + text)
        if not ok:
            failures.append(text)

    def run_quantize_eval(*extra):
        report = work / "report.json"
        subprocess.run([str(quantize_eval), "--data", args.data, "--report", str(report), *extra],
                       check=True, stdout=subprocess.DEVNULL)
        return json.loads(report.read_text())

    # 1. Train with PyTorch.
    train_x, train_y = load_split(args.data, "train")
    test_x, test_y = load_split(args.data, "t10k")
    model = train_mlp(train_x, train_y, [784, 256, 128, 10], args.epochs, args.seed)
    state = {k: v.detach().numpy() for k, v in model.state_dict().items()}
    layers = [(state[f"{i}.weight"], state[f"{i}.bias"]) for i in (0, 2, 4)]
    torch_accuracy = accuracy(layers, test_x, test_y)
    print(f"PyTorch: {len(train_x)} training images, held-out accuracy "
          f"{100 * torch_accuracy:.2f}% on {len(test_x)} images")

    # 2. PyTorch's file, evaluated by tinyq.
    torch_file = work / "torch_mlp.safetensors"
    write_safetensors(torch_file, state, {"format": "pt"})
    report = run_quantize_eval("--model", str(torch_file), "--export", str(work / "float.safetensors"))
    tinyq_accuracy = report["float"]["accuracy"]
    check(abs(tinyq_accuracy - torch_accuracy) <= 0.0005,
          f"float accuracy: tinyq {100 * tinyq_accuracy:.2f}% vs PyTorch {100 * torch_accuracy:.2f}%")

    # 3a. tinyq's float export, read here, and loaded into PyTorch.
    tensors, metadata = read_safetensors(work / "float.safetensors")
    check(set(tensors) == set(state) and all(np.array_equal(tensors[k], state[k]) for k in state),
          f"float export: {len(tensors)} tensors bit-identical to PyTorch's")
    model.load_state_dict({k: torch.from_numpy(v.copy()) for k, v in tensors.items()})
    print(f"      PyTorch load_state_dict accepted tinyq's export (metadata {metadata})")

    # 3b. Quantized exports, dequantized here.
    for scheme, granularity, bits in [("asymmetric", "group", 4), ("symmetric", "channel", 8)]:
        path = work / f"{scheme}_{granularity}_{bits}.safetensors"
        report = run_quantize_eval("--model", str(torch_file), "--scheme", scheme,
                                   "--granularity", granularity, "--bits", str(bits),
                                   "--export", str(path))
        tensors, metadata = read_safetensors(path)
        rebuilt, worst = [], 0.0
        for i in (0, 2, 4):
            w, scale = dequantize(tensors, metadata, i)
            # Rounding to the nearest level is off by at most half a step, 1 / (2 scale).
            worst = max(worst, float(np.max(np.abs(w - state[f"{i}.weight"]) * scale)))
            rebuilt.append((w, tensors[f"{i}.bias"]))
        name = metadata["0.weight.format"]
        check(worst <= 0.5 + 1e-3, f"{name}: dequantized weights within {worst:.4f} steps of float")
        mine, theirs = accuracy(rebuilt, test_x, test_y), report["results"][0]["accuracy"]
        check(abs(mine - theirs) <= 0.0005, f"{name}: accuracy from numpy dequantization "
              f"{100 * mine:.2f}% vs quantize_eval {100 * theirs:.2f}% ({path.stat().st_size} bytes)")
    print(f"files in {work}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

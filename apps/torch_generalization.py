#!/usr/bin/env python3
"""Does GPTQ's gain over round-to-nearest carry over to a model tinyq did not train?

Trains a ReLU MLP of other widths with PyTorch (default 784-512-256-10), saves
its state_dict as safetensors with PyTorch's own names (0.weight, 0.bias,
2.weight, ...), then has quantize_eval quantize that file, and optionally a
tinyq model too, with round-to-nearest (min-max grid, the seed's method) and
with GPTQ (zero-exact grid, act-order) at 2, 3 and 4 bits (asymmetric, one
scale per output channel), and prints the accuracies side by side with
GPTQ's gain in points.

Needs PyTorch and numpy (Debian: python3-torch, python3-numpy) and a built
quantize_eval:

  /usr/bin/python3 apps/torch_generalization.py --data /usr/share/datasets/fashion-mnist \
      --build build [--epochs 5] [--tinyq-model build/runs/fashion.tqm] [--out FILE.safetensors]
"""
import argparse
import functools
import json
import pathlib
import subprocess
import sys
import tempfile

from safetensors_interop import accuracy, load_split, train_mlp, write_safetensors

print = functools.partial(print, flush=True)  # lines appear as they are measured


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
    parser.add_argument("--build", default="build", help="meson build folder with apps/")
    parser.add_argument("--hidden", default="512,256", help="hidden widths, e.g. 512,256")
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--bits", default="2,3,4")
    parser.add_argument("--tinyq-model", help="also compare this tinyq model (.tqm)")
    parser.add_argument("--out", help="keep the PyTorch model here (.safetensors)")
    parser.add_argument("--report", help="write the accuracies as JSON")
    args = parser.parse_args()
    quantize_eval = pathlib.Path(args.build) / "apps" / "quantize_eval"
    work = pathlib.Path(tempfile.mkdtemp(prefix="tinyq_generalization_"))

    train_x, train_y = load_split(args.data, "train")
    test_x, test_y = load_split(args.data, "t10k")
    widths = [train_x.shape[1]] + [int(h) for h in args.hidden.split(",")] + [10]
    model = train_mlp(train_x, train_y, widths, args.epochs, args.seed, cosine=True)
    state = {k: v.detach().numpy() for k, v in model.state_dict().items()}
    linear = sorted({int(k.split(".")[0]) for k in state})
    torch_accuracy = accuracy([(state[f"{i}.weight"], state[f"{i}.bias"]) for i in linear],
                              test_x, test_y)
    name = "-".join(str(w) for w in widths)
    print(f"PyTorch MLP {name}, {args.epochs} epochs: held-out accuracy {100 * torch_accuracy:.2f}%")
    torch_file = pathlib.Path(args.out) if args.out else work / "torch_mlp.safetensors"
    write_safetensors(torch_file, state, {"format": "pt"})

    def run(model, *extra):
        report = work / "report.json"
        subprocess.run([str(quantize_eval), "--model", str(model), "--data", args.data,
                        "--report", str(report), *extra], check=True, stdout=subprocess.DEVNULL)
        result = json.loads(report.read_text())
        return result["float"]["accuracy"], result["results"][0]["accuracy"]

    models = [(f"PyTorch {name}", torch_file)]
    if args.tinyq_model:
        models.append(("tinyq " + pathlib.Path(args.tinyq_model).name, args.tinyq_model))
    rows = []
    print(f"\n{'model':<28} {'bits':>4} {'float':>7} {'rtn':>7} {'gptq':>7} {'gain':>6}")
    for label, path in models:
        for bits in (int(b) for b in args.bits.split(",")):
            common = ["--scheme", "asymmetric", "--granularity", "channel", "--bits", str(bits)]
            float_accuracy, rtn = run(path, *common)
            _, gptq = run(path, *common, "--method", "gptq", "--grid", "zero-exact", "--act-order")
            rows.append({"model": label, "bits": bits, "float": float_accuracy, "rtn": rtn,
                         "gptq": gptq})
            print(f"{label:<28} {bits:>4} {100 * float_accuracy:>6.2f}% {100 * rtn:>6.2f}% "
                  f"{100 * gptq:>6.2f}% {100 * (gptq - rtn):>+6.2f}")
    if args.report:
        pathlib.Path(args.report).write_text(json.dumps(
            {"torch_model": name, "epochs": args.epochs, "torch_accuracy": torch_accuracy,
             "rows": rows}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

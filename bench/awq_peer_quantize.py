#!/usr/bin/env python3
"""The peer's side of bench/awq-peer.sh: a maintained AWQ implementation on CPU, on exactly the calibration windows
Quanta draws (the model's tokenizer on the whole calibration text with add_special_tokens=False, then Quanta's
CalibrationSet: SplitMix64(seed), start = next() % (tokens − seqlen − 1), window = tokens[start : start + seqlen]),
int weights, `--bits` (4), group size `--group-size` (64), asymmetric (zero point), batch size 1.

--peer gptqmodel (default; the one bench/awq-peer.sh runs): GPTQModel 7.7.0, QuantizeConfig(quant_method=AWQ,
    format=GEMM, sym=False). Its AWQProcessor fixes duo_scaling=True (s = mean|x|^α / mean|ŵ|^(1−α)), n_grid=20
    (α = k/20, k = 0…19), apply_clip=True (AutoAWQ's clip search) and max_chunk_memory=1 GiB; none is an option.
    The model is loaded with `--dtype` (default auto: GPTQModel's choice, bfloat16 for this f32 input). Writes
    AutoAWQ's GEMM layout to OUT_DIR, which `quanta eval` reads as stored.
--peer llmcompressor: llm-compressor 0.14.0.1's AWQModifier (n_grid `--n-grid` 20, duo_scaling `--duo-scaling`,
    default its own True: α = 0 without weights, then 19 duo-scaling points α = k/18) + QuantizationModifier (the
    final scales / zero points, its default weight observer memoryless min-max: no clipping search), f32, lm_head
    not quantized. Writes OUT_DIR/compressed (compressed-tensors pack-quantized). On a machine without an NVIDIA
    driver 0.14.0.1 fails in AWQModifier._apply_smoothing → IntermediatesCache.pin_memory → Tensor.pin_memory():
    "RuntimeError: Found no NVIDIA driver on your system."

usage: awq_peer_quantize.py HF_DIR OUT_DIR CALIB_TEXT [--peer gptqmodel|llmcompressor] [--bits 4] [--group-size 64]
                            [--samples 128] [--seqlen 512] [--seed 0] [--dtype auto]
                            [--n-grid 20] [--duo-scaling true|false|both] [--observer NAME]   (llm-compressor)
       awq_peer_quantize.py --check-gemm OUT_DIR       (GPTQModel's output; also run after every gptqmodel quantize)
       awq_peer_quantize.py --export OUT_DIR/compressed HF_DIR FLOAT_DIR                    (llm-compressor)
           writes FLOAT_DIR: a plain f32 safetensors HF directory whose weights are what the compressed checkpoint
           computes — decompressed by transformers + compressed-tensors (CompressedTensorsConfig(dequantize=True),
           i.e. ModelCompressor.decompress_model), config and tokenizer from HF_DIR — for `quanta eval`, which does
           not read compressed-tensors. Checks every quantized linear is on the 4-bit grid (≤ 2^bits distinct values
           per group) and, on one layer, that it equals compressed_tensors' dequantize() of the stored packed codes.
Each mode prints one JSON line at the end (quantize mode: seconds = quantize + save, load_seconds = imports and
tokenization, the settings).
"""
import argparse
import json
import os
import shutil
import sys
import time

start = time.time()
import torch  # noqa: E402

torch.set_num_threads(os.cpu_count() or 2)


def export(compressed_dir: str, hf_dir: str, float_dir: str) -> None:
    import glob

    import compressed_tensors
    from compressed_tensors.compressors.pack_quantized.helpers import unpack_from_int32  # noqa: F401  (probe)
    from compressed_tensors.quantization import QuantizationArgs
    from compressed_tensors.quantization.lifecycle.forward import dequantize
    from safetensors import safe_open
    from safetensors.torch import save_file
    from transformers import AutoModelForCausalLM, CompressedTensorsConfig

    t0 = time.time()
    model = AutoModelForCausalLM.from_pretrained(compressed_dir, dtype=torch.float32,
                                                 quantization_config=CompressedTensorsConfig(dequantize=True))
    qconf = json.load(open(os.path.join(compressed_dir, "config.json")))["quantization_config"]
    group = next(iter(qconf["config_groups"].values()))["weights"]
    bits, group_size = group["num_bits"], group["group_size"]

    # the input's tensor names decide what is written (no weight_scale / zero point / packed tensors)
    reference = {}
    for f in sorted(glob.glob(os.path.join(hf_dir, "*.safetensors"))):
        with safe_open(f, "pt") as h:
            for k in h.keys():
                reference[k] = f
    state = model.state_dict()
    missing = [k for k in reference if k not in state]
    if missing:
        sys.exit(f"decompressed model lacks {missing[:5]}")
    tensors = {k: state[k].detach().to(torch.float32).contiguous() for k in reference}

    # every quantized linear: on the grid, and changed
    max_distinct, n_linear, rel = 0, 0, []
    for name, module in model.named_modules():
        if not isinstance(module, torch.nn.Linear) or not hasattr(module, "quantization_scheme"):
            continue
        if module.quantization_scheme is None or module.quantization_scheme.weights is None:
            continue
        w = tensors[name + ".weight"]
        g = w.reshape(-1, group_size).sort(dim=1).values
        distinct = int(((g[:, 1:] != g[:, :-1]).sum(dim=1) + 1).max())
        max_distinct = max(max_distinct, distinct)
        with safe_open(reference[name + ".weight"], "pt") as h:
            w0 = h.get_tensor(name + ".weight").to(torch.float32)
        rel.append(float((w - w0).norm() / w0.norm()))
        n_linear += 1
    if n_linear == 0 or max_distinct > 2 ** bits:
        sys.exit(f"not quantized: {n_linear} quantized linears, up to {max_distinct} distinct values per group")

    # one layer by hand: the stored packed codes, unpacked and dequantized by compressed_tensors itself
    layer = "model.layers.0.self_attn.q_proj"
    stored = {}
    for f in sorted(glob.glob(os.path.join(compressed_dir, "*.safetensors"))):
        with safe_open(f, "pt") as h:
            for k in h.keys():
                if k.startswith(layer + "."):
                    stored[k[len(layer) + 1:]] = h.get_tensor(k)
    shape = [int(x) for x in stored["weight_shape"]]
    codes = unpack_from_int32(stored["weight_packed"], bits, torch.Size(shape))
    zp = unpack_from_int32(stored["weight_zero_point"], bits, torch.Size([shape[0], shape[1] // group_size]), packed_dim=0)
    manual = dequantize(codes, stored["weight_scale"].to(torch.float32), zp,
                        QuantizationArgs(**{k: v for k, v in group.items() if k in ("num_bits", "type", "symmetric", "strategy", "group_size")}),
                        dtype=torch.float32)
    layer_max_diff = float((manual - tensors[layer + ".weight"]).abs().max())
    if layer_max_diff > 1e-6:
        sys.exit(f"{layer}: decompressed model and dequantize() of the stored codes differ by {layer_max_diff}")
    distinct_layer = int(((codes.reshape(-1, group_size).sort(dim=1).values.diff(dim=1) != 0).sum(dim=1) + 1).max())

    os.makedirs(float_dir, exist_ok=True)
    save_file(tensors, os.path.join(float_dir, "model.safetensors"), metadata={"format": "pt"})
    for f in os.listdir(hf_dir):
        if not f.endswith(".safetensors") and not f.endswith(".index.json") and os.path.isfile(os.path.join(hf_dir, f)) \
                and not f.startswith("."):
            shutil.copy(os.path.join(hf_dir, f), os.path.join(float_dir, f))
    print(json.dumps({"export_seconds": time.time() - t0, "compressed_tensors": compressed_tensors.__version__,
                      "quantized_linears": n_linear, "max_distinct_values_per_group": max_distinct,
                      "group_size": group_size, "bits": bits, "check_layer": layer,
                      "check_layer_max_abs_diff_vs_dequantize": layer_max_diff,
                      "check_layer_max_distinct_codes_per_group": distinct_layer,
                      "relative_change_vs_input_incl_awq_scaling": {"min": min(rel), "mean": sum(rel) / len(rel), "max": max(rel)}}))



def check_gemm(out_dir: str) -> dict:
    """AutoAWQ GEMM output: every decoder linear stored as qweight/qzeros/scales (none left in float), and one
    layer dequantized by hand (AutoAWQ's nibble order 0, 2, 4, 6, 1, 3, 5, 7) has ≤ 16 distinct values per group."""
    import glob

    from safetensors import safe_open

    tensors = {}
    for f in sorted(glob.glob(os.path.join(out_dir, "*.safetensors"))):
        with safe_open(f, "pt") as h:
            for k in h.keys():
                tensors[k] = (f, h.get_slice(k).get_dtype())
    linears = [k[:-len(".qweight")] for k in tensors if k.endswith(".qweight")]
    float_linears = [k for k in tensors if k.endswith("_proj.weight")]
    if not linears or float_linears:
        sys.exit(f"{out_dir}: {len(linears)} quantized linears, float linears left: {float_linears[:5]}")
    layer = "model.layers.0.self_attn.q_proj"
    with safe_open(tensors[layer + ".qweight"][0], "pt") as h:
        qweight, qzeros, scales = (h.get_tensor(f"{layer}.{n}") for n in ("qweight", "qzeros", "scales"))
    order = torch.tensor([0, 4, 1, 5, 2, 6, 3, 7])  # output 8k + j sits in nibble order[j]

    def unpack(packed):
        nibbles = torch.stack([(packed >> (4 * i)) & 15 for i in range(8)], dim=-1)  # [..., out/8, 8]
        return nibbles[..., order].reshape(packed.shape[0], -1)

    codes, zeros = unpack(qweight), unpack(qzeros)  # [in, out], [in/g, out]
    group_size = qweight.shape[0] // scales.shape[0]
    w = (codes.float() - zeros.float().repeat_interleave(group_size, 0)) * scales.float().repeat_interleave(group_size, 0)
    groups = w.t().reshape(-1, group_size).sort(dim=1).values
    distinct = int(((groups[:, 1:] != groups[:, :-1]).sum(dim=1) + 1).max())
    if distinct > 16:
        sys.exit(f"{layer}: {distinct} distinct values in a group")
    return {"quantized_linears": len(linears), "scales_dtype": tensors[layer + ".scales"][1],
            "check_layer": layer, "check_layer_max_distinct_values_per_group": distinct,
            "float_tensors": sorted({d for k, (_, d) in tensors.items() if k.endswith(".weight")})}


if len(sys.argv) == 3 and sys.argv[1] == "--check-gemm":
    print(json.dumps(check_gemm(sys.argv[2])))
    sys.exit(0)

if len(sys.argv) > 1 and sys.argv[1] == "--export":
    if len(sys.argv) != 5:
        sys.exit("usage: awq_peer_quantize.py --export COMPRESSED_DIR HF_DIR FLOAT_DIR")
    export(*sys.argv[2:5])
    sys.exit(0)

parser = argparse.ArgumentParser()
parser.add_argument("hf_dir")
parser.add_argument("out_dir")
parser.add_argument("calib_text")
parser.add_argument("--peer", default="gptqmodel", choices=["gptqmodel", "llmcompressor"])
parser.add_argument("--bits", type=int, default=4)
parser.add_argument("--group-size", type=int, default=64)
parser.add_argument("--samples", type=int, default=128)
parser.add_argument("--seqlen", type=int, default=512)
parser.add_argument("--seed", type=int, default=0)
parser.add_argument("--n-grid", type=int, default=20, help="llm-compressor only (GPTQModel hard-codes 20)")
parser.add_argument("--duo-scaling", default="true", choices=["true", "false", "both"],
                    help="llm-compressor's AWQModifier.duo_scaling (default true, its own; GPTQModel: always true)")
parser.add_argument("--observer", default=None,
                    help="llm-compressor's weight observer (default: its own, memoryless_minmax)")
parser.add_argument("--dtype", default="auto",
                    help="GPTQModel.load dtype (default auto: GPTQModel's own choice; e.g. float32)")
args = parser.parse_args()

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from quanta_windows import draw_windows  # noqa: E402


def windows_of(tokenizer):
    windows, count = draw_windows(tokenizer, args.calib_text, args.samples, args.seqlen, args.seed)
    return count, windows


settings = {"peer": args.peer, "bits": args.bits, "group_size": args.group_size, "symmetric": False,
            "samples": args.samples, "seqlen": args.seqlen, "seed": args.seed, "torch": torch.__version__}

if args.peer == "gptqmodel":
    # GPTQModel's AWQ (looper/awq_processor.py): duo_scaling, apply_clip and n_grid 20 are fixed attributes of
    # its AWQProcessor (True, True, 20; no option), max_chunk_memory 1 GiB; it writes AutoAWQ's GEMM layout.
    from gptqmodel import GPTQModel, QuantizeConfig, __version__
    from gptqmodel.quantization import FORMAT, METHOD
    from transformers import AutoTokenizer

    assert __version__ == "7.7.0", __version__
    tokenizer = AutoTokenizer.from_pretrained(args.hf_dir)
    tokens, windows = windows_of(tokenizer)
    calibration = [{"input_ids": w, "attention_mask": [1] * len(w)} for w in windows]
    config = QuantizeConfig(bits=args.bits, group_size=args.group_size, sym=False, quant_method=METHOD.AWQ,
                            format=FORMAT.GEMM)
    loaded = time.time()
    model = GPTQModel.load(args.hf_dir, config, dtype=args.dtype)
    model_dtype = str(next(model.model.parameters()).dtype)
    model.quantize(calibration, batch_size=1)
    quantized = time.time()
    model.save(args.out_dir)
    done = time.time()
    settings.update({"output_check": check_gemm(args.out_dir), "gptqmodel": __version__, "config_class": type(config).__name__, "format": str(config.format),
                     "model_dtype": model_dtype, "n_grid": 20, "duo_scaling": True, "apply_clip": True})
else:
    # llm-compressor's AWQModifier + QuantizationModifier. On a machine without an NVIDIA driver 0.14.0.1 stops in
    # AWQModifier._apply_smoothing → IntermediatesCache.pin_memory → Tensor.pin_memory():
    # "RuntimeError: Found no NVIDIA driver on your system."
    import compressed_tensors
    import llmcompressor
    from compressed_tensors.quantization import QuantizationArgs, QuantizationScheme
    from datasets import Dataset
    from llmcompressor import oneshot
    from llmcompressor.modifiers.quantization import QuantizationModifier
    from llmcompressor.modifiers.transform.awq import AWQModifier
    from transformers import AutoModelForCausalLM, AutoTokenizer

    assert llmcompressor.__version__.startswith("0.14.0"), llmcompressor.__version__
    tokenizer = AutoTokenizer.from_pretrained(args.hf_dir)
    tokens, windows = windows_of(tokenizer)
    calibration = Dataset.from_dict({"input_ids": windows, "attention_mask": [[1] * len(w) for w in windows]})
    duo = {"true": True, "false": False, "both": "both"}[args.duo_scaling]
    weights = QuantizationArgs(num_bits=args.bits, type="int", symmetric=False, strategy="group",
                               group_size=args.group_size, observer=args.observer)
    recipe = [
        AWQModifier(n_grid=args.n_grid, duo_scaling=duo),
        QuantizationModifier(config_groups={"group_0": QuantizationScheme(targets=["Linear"], weights=weights)},
                             ignore=["lm_head"]),
    ]
    model = AutoModelForCausalLM.from_pretrained(args.hf_dir, dtype=torch.float32)
    loaded = time.time()
    oneshot(model=model, tokenizer=tokenizer, dataset=calibration, recipe=recipe, num_calibration_samples=args.samples,
            max_seq_length=args.seqlen, shuffle_calibration_samples=False, batch_size=1)
    quantized = time.time()
    compressed = os.path.join(args.out_dir, "compressed")
    model.save_pretrained(compressed, save_compressed=True)
    tokenizer.save_pretrained(compressed)
    done = time.time()
    settings.update({"llmcompressor": llmcompressor.__version__, "compressed_tensors": compressed_tensors.__version__,
                     "model_dtype": "torch.float32", "n_grid": args.n_grid, "duo_scaling": duo, "apply_clip": False,
                     "observer": args.observer or "memoryless_minmax (default)"})

print(json.dumps({"seconds": done - loaded, "quantize_seconds": quantized - loaded, "save_seconds": done - quantized,
                  "load_seconds": loaded - start, "threads": torch.get_num_threads(), **settings,
                  "calibration_text_tokens": tokens}))

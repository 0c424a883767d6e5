#!/usr/bin/env python3
"""Reads a .safetensors file the way independent tools do and prints a JSON
summary: {"tensors": {name: {"shape": [...], "sum": float, "first": float}},
"metadata": {...}, "checked_with": [...]}. Used by tests/test_safetensors.c.

Always parses with the standard library (struct + json), checking the layout
rules of the format; also loads with numpy and the `safetensors` package
when they are installed, and checks they agree."""
import json
import struct
import sys


def main(path):
    with open(path, "rb") as f:
        blob = f.read()
    (n,) = struct.unpack("<Q", blob[:8])
    header = json.loads(blob[8:8 + n].decode("utf-8"))
    assert (8 + n) % 8 == 0, "header not padded to 8 bytes"
    data = blob[8 + n:]
    meta = header.pop("__metadata__", {})
    out = {"tensors": {}, "metadata": meta, "checked_with": ["struct"]}
    spans = []
    for name, info in header.items():
        assert info["dtype"] == "F32", name
        b, e = info["data_offsets"]
        count = 1
        for d in info["shape"]:
            count *= d
        assert e - b == 4 * count, name
        spans.append((b, e))
        vals = struct.unpack("<%df" % count, data[b:e])
        out["tensors"][name] = {"shape": info["shape"], "sum": sum(vals),
                                "first": vals[0] if vals else None}
    pos = 0
    for b, e in sorted(spans):
        assert b == pos, "gap or overlap"
        pos = e
    assert pos == len(data), "trailing bytes"
    try:
        import numpy as np
        for name, info in header.items():
            b, e = info["data_offsets"]
            arr = np.frombuffer(data[b:e], dtype="<f4").reshape(info["shape"])
            assert abs(float(arr.sum(dtype=np.float64)) - out["tensors"][name]["sum"]) < 1e-6 * (1 + abs(out["tensors"][name]["sum"]))
        out["checked_with"].append("numpy")
        from safetensors.numpy import load_file
        loaded = load_file(path)
        assert sorted(loaded) == sorted(header)
        out["checked_with"].append("safetensors")
    except ImportError:
        pass
    print(json.dumps(out, sort_keys=True))


if __name__ == "__main__":
    main(sys.argv[1])

"""Check exported ONNX files without the onnx package (not installable here).

A minimal protobuf wire-format reader pulls out the graph's inputs, outputs,
nodes and initializers; a small numpy interpreter runs a student graph
(Conv/Relu/MaxPool/Flatten/Gemm) so its logits can be compared with PyTorch.
Field numbers are those of onnx.proto (ModelProto.graph = 7, and so on).
"""

import numpy as np

STUDENT_OPS = {"Conv", "Relu", "MaxPool", "Flatten", "Gemm", "GlobalAveragePool", "Identity"}
QUANT_OPS = {"QuantizeLinear", "DequantizeLinear", "Floor", "Clip", "Round"}


class OnnxError(Exception):
    """An exported graph does not have the shape the daemon expects."""


def _varint(buf, pos):
    value, shift = 0, 0
    while True:
        b = buf[pos]
        pos += 1
        value |= (b & 0x7F) << shift
        if b < 0x80:
            return value, pos
        shift += 7


def _fields(buf):
    """Decode one message into {field number: [values]} (ints or bytes)."""
    out, pos = {}, 0
    while pos < len(buf):
        key, pos = _varint(buf, pos)
        field, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _varint(buf, pos)
        elif wire == 1:
            value, pos = buf[pos:pos + 8], pos + 8
        elif wire == 2:
            size, pos = _varint(buf, pos)
            value, pos = buf[pos:pos + size], pos + size
        elif wire == 5:
            value, pos = buf[pos:pos + 4], pos + 4
        else:
            raise OnnxError(f"unsupported protobuf wire type {wire}")
        out.setdefault(field, []).append(value)
    return out


def _signed(v):
    return v - (1 << 64) if v >= 1 << 63 else v


def _ints(values):
    """Repeated int64 field, packed or not."""
    out = []
    for v in values:
        if isinstance(v, int):
            out.append(_signed(v))
        else:
            pos = 0
            while pos < len(v):
                x, pos = _varint(v, pos)
                out.append(_signed(x))
    return out


def _str(fields, n, default=""):
    return fields[n][0].decode() if n in fields else default


def _attributes(node_fields):
    attrs = {}
    for raw in node_fields.get(5, []):
        a = _fields(raw)
        name = _str(a, 1)
        if 8 in a:
            attrs[name] = _ints(a[8])
        elif 3 in a:
            attrs[name] = _signed(a[3][0])
        elif 2 in a:
            attrs[name] = float(np.frombuffer(a[2][0], "<f4")[0])
    return attrs


def _tensor(raw):
    t = _fields(raw)
    dims = _ints(t.get(1, []))
    if _ints(t.get(2, [0]))[0] != 1:
        raise OnnxError(f"initializer {_str(t, 8)} is not float32")
    if 9 in t:
        arr = np.frombuffer(t[9][0], "<f4")
    else:
        arr = np.concatenate([np.frombuffer(b, "<f4") for b in t.get(4, [])] or [np.zeros(0, "<f4")])
    return _str(t, 8), arr.reshape(dims).astype(np.float32)


def _value_info(raw):
    v = _fields(raw)
    tensor = _fields(_fields(v[2][0])[1][0])
    dims = []
    for d in _fields(tensor[2][0]).get(1, []) if 2 in tensor else []:
        d = _fields(d)
        dims.append(d[2][0].decode() if 2 in d else d.get(1, [None])[0])
    return _str(v, 1), dims


def read(path):
    """Return {opset, inputs, outputs, nodes, initializers} of an ONNX file."""
    with open(path, "rb") as f:
        model = _fields(f.read())
    opset = max(_fields(o).get(2, [0])[0] for o in model.get(8, []))
    graph = _fields(model[7][0])
    inits = dict(_tensor(t) for t in graph.get(5, []))
    nodes = []
    for raw in graph.get(1, []):
        n = _fields(raw)
        nodes.append({"op": _str(n, 4), "inputs": [s.decode() for s in n.get(1, [])],
                      "outputs": [s.decode() for s in n.get(2, [])],
                      "attrs": _attributes(n)})
    inputs = [_value_info(v) for v in graph.get(11, [])]
    return {"opset": opset, "initializers": inits, "nodes": nodes,
            "inputs": [i for i in inputs if i[0] not in inits],
            "outputs": [_value_info(v) for v in graph.get(12, [])]}


def _windows(x, kh, kw, sh, sw):
    n, c, h, w = x.shape
    oh, ow = (h - kh) // sh + 1, (w - kw) // sw + 1
    s = x.strides
    return np.lib.stride_tricks.as_strided(
        x, (n, c, oh, ow, kh, kw), (s[0], s[1], s[2] * sh, s[3] * sw, s[2], s[3]))


def _lift_1d(node, env):
    """Run a 1-D Conv/MaxPool ([N, C, L]) as the 2-D one over [N, C, 1, L]."""
    a = dict(node["attrs"])
    for key, one in (("kernel_shape", 1), ("strides", 1), ("dilations", 1)):
        if key in a:
            a[key] = [one] + list(a[key])
    if "pads" in a:
        a["pads"] = [0, a["pads"][0], 0, a["pads"][1]]
    lifted = {name: env[name][:, :, None, :] for name in node["inputs"][:2]}
    if len(node["inputs"]) > 2:
        lifted[node["inputs"][2]] = env[node["inputs"][2]]
    return _run_node(dict(node, attrs=a), lifted)[:, :, 0, :]


def _run_node(node, env):
    op, a = node["op"], node["attrs"]
    x = env[node["inputs"][0]]
    if op in ("Conv", "MaxPool") and x.ndim == 3:
        return _lift_1d(node, env)
    if op == "MaxPool" and (any(a.get("pads", [0])) or a.get("ceil_mode", 0)):
        raise OnnxError(f"{op} with padding or ceil_mode is not supported here")
    if op == "Identity":
        return x
    if op == "GlobalAveragePool":
        return x.astype(np.float64).mean(axis=(2, 3), keepdims=True).astype(np.float32)
    if op == "Conv":
        if any(d != 1 for d in a.get("dilations", [1])):
            raise OnnxError("Conv with dilation is not supported here")
        w = env[node["inputs"][1]]
        sh, sw = a.get("strides", [1, 1])
        top, left, bottom, right = a.get("pads", [0, 0, 0, 0])
        x = np.pad(x, ((0, 0), (0, 0), (top, bottom), (left, right)))
        win = _windows(np.ascontiguousarray(x), w.shape[2], w.shape[3], sh, sw)
        groups = a.get("group", 1)
        if groups == 1:
            y = np.einsum("ncijkl,ockl->noij", win, w, dtype=np.float64)
        else:
            # grouped (depthwise when groups = channels): each group's inputs to its outputs
            cin, cout = x.shape[1] // groups, w.shape[0] // groups
            y = np.concatenate([np.einsum("ncijkl,ockl->noij", win[:, g * cin:(g + 1) * cin], w[g * cout:(g + 1) * cout], dtype=np.float64)
                                for g in range(groups)], axis=1)
        if len(node["inputs"]) > 2:
            y += env[node["inputs"][2]][None, :, None, None]
        return y.astype(np.float32)
    if op == "Relu":
        return np.maximum(x, 0)
    if op == "MaxPool":
        kh, kw = a["kernel_shape"]
        sh, sw = a.get("strides", [1, 1])
        return _windows(np.ascontiguousarray(x), kh, kw, sh, sw).max(axis=(4, 5))
    if op == "Flatten":
        axis = a.get("axis", 1)
        return x.reshape(int(np.prod(x.shape[:axis])), -1)
    if op == "Gemm":
        w, b = env[node["inputs"][1]], env[node["inputs"][2]]
        x = x.T if a.get("transA", 0) else x
        w = w.T if a.get("transB", 0) else w
        return (a.get("alpha", 1.0) * (x.astype(np.float64) @ w)
                + a.get("beta", 1.0) * b).astype(np.float32)
    raise OnnxError(f"op {op} is not a student op")


def run_student(graph, x):
    """Evaluate a student graph on a float32 NCHW (or NCL) batch with numpy."""
    env = dict(graph["initializers"])
    env[graph["inputs"][0][0]] = x
    for node in graph["nodes"]:
        env[node["outputs"][0]] = _run_node(node, env)
    return env[graph["outputs"][0][0]]


def check_interface(graph, path, in_shape, n_classes, opset):
    """Raise OnnxError unless the graph is input[batch,...] -> logits[batch, classes]."""
    problems = []
    if graph["opset"] != opset:
        problems.append(f"opset {graph['opset']}, want {opset}")
    if len(graph["inputs"]) != 1 or graph["inputs"][0][0] != "input":
        problems.append(f"inputs {graph['inputs']}, want one named 'input'")
    elif isinstance(graph["inputs"][0][1][0], int) or graph["inputs"][0][1][1:] != list(in_shape):
        problems.append(f"input dims {graph['inputs'][0][1]}, want [batch, {in_shape}]")
    if len(graph["outputs"]) != 1 or graph["outputs"][0][0] != "logits":
        problems.append(f"outputs {graph['outputs']}, want one named 'logits'")
    elif isinstance(graph["outputs"][0][1][0], int) or graph["outputs"][0][1][1:] != [n_classes]:
        problems.append(f"logits dims {graph['outputs'][0][1]}, want [batch, {n_classes}]")
    quant = QUANT_OPS & {n["op"] for n in graph["nodes"]}
    if quant:
        problems.append(f"fake-quant ops left in the graph: {sorted(quant)}")
    if problems:
        raise OnnxError(f"{path}: " + "; ".join(problems))

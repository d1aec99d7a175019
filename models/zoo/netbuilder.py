# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""Builds triage-model/1 layer tables for gen_models.py.

Net holds one network in topological order and derives what the format
stores beside the architecture: output shapes, FLOPs, parameters, bytes,
block indices and cut points (docs/models.md has the rules; models/zoo_check.c
checks them again in C). Python 3, standard library only.
"""

import json
import math
import os

FORMAT = "triage-model/1"
BYTES_PER_ELEMENT = 4  # float32


def conv_out(size, k, s, p0, p1, d):
    return (size + p0 + p1 - d * (k - 1) - 1) // s + 1


def torch_pool_pads(size, k, s, p, ceil_mode):
    """PyTorch pooling with symmetric padding p and optional ceil mode, as
    explicit (before, after) pads: the format has no ceil flag, the extra
    window a ceil-mode pool adds becomes padding at the bottom/right."""
    if ceil_mode:
        out = -(-(size + 2 * p - k) // s) + 1
        # PyTorch drops a last window that would start in the padding.
        if (out - 1) * s >= size + p:
            out -= 1
    else:
        out = (size + 2 * p - k) // s + 1
    # Pad after so that floor((size + before + after - k) / s) + 1 == out;
    # never less than PyTorch's own symmetric pad.
    after = max((out - 1) * s + k - size - p, p)
    return p, after


class Net:
    """A layer table under construction, in topological order."""

    def __init__(self, name, title, source, published, shape):
        self.name = name
        self.title = title
        self.source = source
        self.published = published
        self.input_name = "input"
        self.input_shape = list(shape)
        self.shapes = {self.input_name: list(shape)}
        self.layers = []
        self.blocks = []
        self.outputs = []

    # ---- bookkeeping ---------------------------------------------------

    def block(self, name):
        self.blocks.append(name)

    def _add(self, name, ltype, inputs, shape, attrs, flops, params):
        assert name not in self.shapes, name
        assert self.blocks, "a layer before the first block"
        for i in inputs:
            assert i in self.shapes, (name, i)
        layer = {"name": name, "type": ltype, "inputs": list(inputs), "shape": shape}
        layer.update(attrs)
        layer["flops"] = int(flops)
        layer["params"] = int(params)
        layer["out_bytes"] = BYTES_PER_ELEMENT * math.prod(shape)
        layer["block"] = len(self.blocks) - 1
        self.layers.append(layer)
        self.shapes[name] = shape
        return name

    def shape(self, name):
        return self.shapes[name]

    # ---- layer types (docs/models.md has the rules) ----------------------

    def conv(self, name, x, cout, k, s=1, p=None, d=1, g=1, act="relu", alpha=None):
        kh, kw = (k, k) if isinstance(k, int) else k
        sh, sw = (s, s) if isinstance(s, int) else s
        if p is None:  # torchvision's "same" for odd kernels
            p = ((kh - 1) // 2 * d, (kw - 1) // 2 * d)
        if isinstance(p, int):
            p = (p, p)
        pad = [p[0], p[1], p[0], p[1]] if len(p) == 2 else list(p)
        _, h, w, cin = self.shape(x)
        assert cin % g == 0 and cout % g == 0, name
        oh = conv_out(h, kh, sh, pad[0], pad[2], d)
        ow = conv_out(w, kw, sw, pad[1], pad[3], d)
        macs = oh * ow * cout * kh * kw * (cin // g)
        params = kh * kw * (cin // g) * cout + cout
        attrs = {
            "kernel": [kh, kw],
            "stride": [sh, sw],
            "pad": pad,
            "dilation": [d, d],
            "groups": g,
            "bias": True,  # every conv has a bias once batch norm is folded
            "act": act,
        }
        if act == "leaky":
            attrs["alpha"] = alpha
        return self._add(name, "conv", [x], [1, oh, ow, cout], attrs, 2 * macs, params)

    def fc(self, name, x, units, act="none"):
        nin = math.prod(self.shape(x))
        attrs = {"bias": True, "act": act}
        return self._add(name, "fc", [x], [1, 1, 1, units], attrs, 2 * nin * units,
                         nin * units + units)

    def _pool(self, ltype, name, x, k, s, p, ceil_mode, extra):
        _, h, w, c = self.shape(x)
        pt, pb = torch_pool_pads(h, k, s, p, ceil_mode)
        pl, pr = torch_pool_pads(w, k, s, p, ceil_mode)
        oh = conv_out(h, k, s, pt, pb, 1)
        ow = conv_out(w, k, s, pl, pr, 1)
        attrs = {"kernel": [k, k], "stride": [s, s], "pad": [pt, pl, pb, pr]}
        attrs.update(extra)
        return self._add(name, ltype, [x], [1, oh, ow, c], attrs, k * k * oh * ow * c, 0)

    def maxpool(self, name, x, k, s, p=0, ceil_mode=False):
        return self._pool("maxpool", name, x, k, s, p, ceil_mode, {})

    def avgpool(self, name, x, k, s, p=0, count_pad=True):
        return self._pool("avgpool", name, x, k, s, p, False, {"count_pad": count_pad})

    def gavgpool(self, name, x):
        _, h, w, c = self.shape(x)
        return self._add(name, "gavgpool", [x], [1, 1, 1, c], {}, h * w * c, 0)

    def add(self, name, a, b, act="none"):
        assert self.shape(a) == self.shape(b), name
        shape = self.shape(a)
        return self._add(name, "add", [a, b], shape, {"act": act}, math.prod(shape), 0)

    def mul(self, name, a, b):
        shape = self.shape(a)
        assert self.shape(b) in (shape, [1, 1, 1, shape[3]]), name
        return self._add(name, "mul", [a, b], shape, {"act": "none"}, math.prod(shape), 0)

    def concat(self, name, xs):
        _, h, w, _ = self.shape(xs[0])
        c = sum(self.shape(x)[3] for x in xs)
        return self._add(name, "concat", xs, [1, h, w, c], {"axis": 3}, 0, 0)

    def slice(self, name, x, begin, end):
        _, h, w, _ = self.shape(x)
        return self._add(name, "slice", [x], [1, h, w, end - begin],
                         {"channels": [begin, end]}, 0, 0)

    def upsample(self, name, x, scale):
        _, h, w, c = self.shape(x)
        return self._add(name, "upsample", [x], [1, h * scale, w * scale, c],
                         {"scale": scale, "mode": "nearest"}, 0, 0)

    def softmax(self, name, x):
        shape = self.shape(x)
        return self._add(name, "softmax", [x], shape, {}, math.prod(shape), 0)

    # ---- cut points and output -------------------------------------------

    def finish(self, outputs):
        self.outputs = list(outputs)
        n = len(self.layers)
        index = {self.input_name: -1}
        index.update({l["name"]: i for i, l in enumerate(self.layers)})
        last_use = {i: i for i in index.values()}
        for i, layer in enumerate(self.layers):
            for src in layer["inputs"]:
                last_use[index[src]] = max(last_use[index[src]], i)
        for out in self.outputs:
            last_use[index[out]] = n
        for i, layer in enumerate(self.layers):
            live = [t for t in range(-1, i + 1) if last_use[t] > i]
            block_end = i + 1 < n and self.layers[i + 1]["block"] != layer["block"]
            layer["cut_after"] = block_end and live == [i]

    def document(self):
        return {
            "format": FORMAT,
            "name": self.name,
            "title": self.title,
            "source": self.source,
            "published": self.published,
            "input": {"name": self.input_name, "shape": self.input_shape},
            "outputs": self.outputs,
            "blocks": self.blocks,
            "layers": self.layers,
        }


def classifier_head(net, x, units=1000, name="fc"):
    net.block("classifier")
    x = net.gavgpool("avgpool", x)
    x = net.fc(name, x, units)
    net.finish([net.softmax("prob", x)])


def write(net, outdir):
    doc = net.document()
    lines = ["{"]
    items = list(doc.items())
    for i, (key, value) in enumerate(items):
        comma = "," if i + 1 < len(items) else ""
        if key == "layers":
            lines.append('  "layers": [')
            for j, layer in enumerate(value):
                sep = "," if j + 1 < len(value) else ""
                lines.append("    " + json.dumps(layer) + sep)
            lines.append("  ]" + comma)
        else:
            lines.append(f"  {json.dumps(key)}: {json.dumps(value)}{comma}")
    lines.append("}")
    path = os.path.join(outdir, f"{net.name}.json")
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")
    return path


def summary(net):
    macs = sum(l["flops"] // 2 for l in net.layers if l["type"] in ("conv", "fc"))
    params = sum(l["params"] for l in net.layers)
    cuts = sum(1 for l in net.layers if l["cut_after"])
    pub = net.published
    return (f"{net.name:15s} layers {len(net.layers):4d} blocks {len(net.blocks):3d} "
            f"cuts {cuts:3d} params {params:11d} ({100 * (params / pub['params'] - 1):+.2f}%) "
            f"MACs {macs:12d} ({100 * (macs / pub['macs'] - 1):+.2f}%)")

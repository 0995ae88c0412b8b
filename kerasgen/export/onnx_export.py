"""Generator-only ONNX graphs (float32, dynamic batch, noise and labels as inputs), verified with
onnxruntime at export. Flows get a second graph for the log-density."""

from __future__ import annotations

import os

import tensorflow as tf

from kerasgen.export import graph
from kerasgen.export.card import build_card, write_card
from kerasgen.io import require_finite_weights

DEFAULT_OPSET = 17


def _rename(model_proto, mapping):
    """Renames graph inputs/outputs (tf2onnx keeps TF tensor names such as "z:0")."""
    g = model_proto.graph
    for value in list(g.input) + list(g.output):
        value.name = mapping.get(value.name, value.name)
    for node in g.node:
        node.input[:] = [mapping.get(n, n) for n in node.input]
        node.output[:] = [mapping.get(n, n) for n in node.output]


def _log1p_handler(ctx, node, name, args):
    """Log1p (used by TFP's sigmoid and radial bijectors; tf2onnx has no handler) as Log(1 + x)."""
    import numpy as np
    from tf2onnx import utils

    dtype = utils.map_onnx_to_numpy_type(ctx.get_dtype(node.input[0]))
    one = ctx.make_const(utils.make_name(f"{node.name}_one"), np.array(1, dtype=dtype))
    plus_one = ctx.make_node("Add", [node.input[0], one.output[0]])
    ctx.replace_inputs(node, [plus_one.output[0]])
    node.type = "Log"


def _broadcast_args_handler(ctx, node, name, args):
    """BroadcastArgs (TFP's spline bijector; no ONNX op) of two shape vectors as the elementwise
    Max after left-padding the shorter with ones (valid for non-empty dimensions)."""
    import numpy as np
    from tf2onnx import utils

    inputs = list(node.input)
    ranks = [ctx.get_shape(i) for i in inputs]
    if any(r is None or len(r) != 1 or r[0] is None or r[0] < 0 for r in ranks):
        raise ValueError("BroadcastArgs needs shape vectors of known length to convert")
    dtype = utils.map_onnx_to_numpy_type(ctx.get_dtype(inputs[0]))
    longest = max(r[0] for r in ranks)
    for k, (tensor, rank) in enumerate(zip(inputs, ranks)):
        if rank[0] < longest:
            ones = ctx.make_const(utils.make_name(f"{node.name}_ones"), np.ones(longest - rank[0], dtype))
            inputs[k] = ctx.make_node("Concat", [ones.output[0], tensor], attr={"axis": 0}).output[0]
    ctx.replace_inputs(node, inputs)
    node.type = "Max"


def _elu_grad_handler(ctx, node, name, args):
    """EluGrad(gradients, outputs) (the residual flow's exact log-det differentiates its ELU MLP):
    gradients * (outputs + 1) where outputs < 0, else gradients."""
    import numpy as np
    from tf2onnx import utils

    grads, outputs = node.input
    dtype = utils.map_onnx_to_numpy_type(ctx.get_dtype(outputs))
    zero = ctx.make_const(utils.make_name(f"{node.name}_zero"), np.array(0, dtype=dtype))
    one = ctx.make_const(utils.make_name(f"{node.name}_one"), np.array(1, dtype=dtype))
    negative = ctx.make_node("Less", [outputs, zero.output[0]])
    scaled = ctx.make_node("Mul", [grads, ctx.make_node("Add", [outputs, one.output[0]]).output[0]])
    ctx.replace_inputs(node, [negative.output[0], scaled.output[0], grads])
    node.type = "Where"


def _tanh_grad_handler(ctx, node, name, args):
    """TanhGrad(y, dy) (FFJORD's exact traces differentiate its tanh MLP): dy * (1 - y^2)."""
    import numpy as np
    from tf2onnx import utils

    y, dy = node.input
    one = ctx.make_const(utils.make_name(f"{node.name}_one"),
                         np.array(1, dtype=utils.map_onnx_to_numpy_type(ctx.get_dtype(y))))
    slope = ctx.make_node("Sub", [one.output[0], ctx.make_node("Mul", [y, y]).output[0]])
    ctx.replace_inputs(node, [dy, slope.output[0]])
    node.type = "Mul"


CUSTOM_HANDLERS = {"Log1p": (_log1p_handler, []), "BroadcastArgs": (_broadcast_args_handler, []),
                   "EluGrad": (_elu_grad_handler, []), "TanhGrad": (_tanh_grad_handler, [])}


def to_onnx(fn, specs, opset=DEFAULT_OPSET):
    """ONNX `ModelProto` of a TF function of positional tensors, variables frozen into constants
    (tf2onnx turns captured tensors into graph inputs otherwise), inputs and outputs named."""
    import tf2onnx
    from tensorflow.python.framework.convert_to_constants import convert_variables_to_constants_v2

    concrete = tf.function(fn, input_signature=list(specs.values())).get_concrete_function()
    frozen = convert_variables_to_constants_v2(concrete)
    output_keys = sorted(concrete.structured_outputs)  # flattened dict outputs come in key order
    proto, _ = tf2onnx.convert.from_graph_def(
        frozen.graph.as_graph_def(), input_names=[t.name for t in frozen.inputs],
        output_names=[t.name for t in frozen.outputs], opset=opset, custom_op_handlers=CUSTOM_HANDLERS)
    mapping = {t.name: name for t, name in zip(frozen.inputs, specs)}
    mapping.update({t.name: key for t, key in zip(frozen.outputs, output_keys)})
    _rename(proto, mapping)
    return proto


def _session(path):
    import onnxruntime as ort

    return ort.InferenceSession(path, providers=["CPUExecutionProvider"])


def _verify(path, fn, specs, model, name) -> dict:
    session, parity = _session(path), {}
    for batch in graph.VERIFY_BATCHES:
        inputs = graph.verification_inputs(model, specs, batch)
        want = graph.reference(fn, specs, inputs)
        names = [o.name for o in session.get_outputs()]
        got = dict(zip(names, session.run(names, inputs)))
        parity[f"batch {batch}"] = graph.compare(name, got, want, batch)
    return parity


def graph_paths(path, functions=()) -> dict:
    """Files of an ONNX export at `path`: the generator (or a translation model's A -> B graph), the flow
    log-density, CycleGAN's B -> A graph, the card, and `<stem>.<name>.onnx` for each of `functions`
    (a model's `onnx_functions`: BiGAN's "encode", the semi-supervised GAN's "classify")."""
    stem = path[:-5] if path.endswith(".onnx") else path
    return {"generate": path, "translate": path, "log_prob": f"{stem}.log_prob.onnx",
            "translate_b_to_a": f"{stem}.b_to_a.onnx", "card": f"{stem}.model_card.json",
            **{name: f"{stem}.{name}.onnx" for name in functions}}


def onnx(model, path, opset=DEFAULT_OPSET, verify=True, data_spec=None, metrics=None) -> dict:
    """Exports the generator of a kerasgen model to ONNX.

    Args:
        model: a trained kerasgen model (any precision policy; exported through a float32 copy).
        path: the `.onnx` file of the generator (noise [, labels] -> samples). Flows also write
            `<stem>.log_prob.onnx` (x [, labels] -> log_prob), and each name of the model's
            `onnx_functions` its `<stem>.<name>.onnx` (BiGAN: `encode`, x -> z; the semi-supervised
            GAN: `classify`, x -> probabilities); a `<stem>.model_card.json` goes next to them.
        opset: ONNX opset.
        verify: compare onnxruntime with Keras at batch 1 and 3 (raises `ExportMismatchError`
            past 1e-4 + 1e-5 |value|; nothing is left behind then).
        data_spec, metrics: recorded in the card (metrics default to the last `fit`'s).

    Returns:
        name -> file written.
    
    Raises:
        kerasgen.io.NonFiniteWeightsError: the model holds NaN or infinite weights (batch-norm
            moving statistics included); nothing is written.
    """
    if not str(path).endswith(".onnx"):
        raise ValueError(f"the ONNX path must end with .onnx, got {path!r}")
    require_finite_weights(model, "export")
    model32 = graph.float32_copy(model)
    fns = graph.functions(model32)
    extra = tuple(model32.onnx_functions)
    fns = {k: v for k, v in fns.items() if k in ("generate", "log_prob", "translate", "translate_b_to_a", *extra)}
    paths = graph_paths(str(path), extra)
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    written, parity, outputs = {}, {}, {}
    try:
        for name, (fn, specs) in fns.items():
            tmp = f"{paths[name]}.tmp"
            try:
                proto = to_onnx(fn, specs, opset)
                with open(tmp, "wb") as f:
                    f.write(proto.SerializeToString())
                written[name] = tmp
                _session(tmp)
            except Exception as err:  # conversion or loading; a parity failure is raised below
                reason = str(err).strip().splitlines()[0][:200] if str(err).strip() else type(err).__name__
                raise NotImplementedError(
                    f"the {name} graph of {model.preset or type(model).__name__} does not convert to ONNX "
                    f"({type(err).__name__}: {reason}); export a SavedModel instead") from err
            parity[name] = _verify(tmp, fn, specs, model32, name) if verify else {}
            outputs[name] = {o.name: {"dtype": "float32", "shape": None} for o in proto.graph.output}
        for name, tmp in written.items():
            os.replace(tmp, paths[name])
            written[name] = paths[name]
    except BaseException:
        for tmp in written.values():
            if tmp.endswith(".tmp") and os.path.exists(tmp):
                os.remove(tmp)
        raise
    card = build_card(model, "onnx", {n: s for n, (_, s) in fns.items()}, outputs, parity, data_spec, metrics)
    card["opset"] = opset
    card["files"] = {n: os.path.basename(p) for n, p in written.items()}
    write_card(card, paths["card"])
    return {**written, "card": paths["card"]}



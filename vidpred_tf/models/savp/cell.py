"""SAVP's recurrent generator cell (``SAVPCell`` of savp_model.py, TF1 scope ``generator/rnn/savp_cell``).

One step reads the frame it conditions on (ground truth or its own last prediction, per the scheduled-sampling
schedule), runs a U-Net of strided conv / conv-LSTM layers conditioned on ``[actions, state, rnn(z)]`` tiled onto
every layer, predicts CDNA / DNA kernels or flows that move the last frame(s), a scratch image and softmax masks,
and composites the candidates into the next frame (and, with states, a next state by a dense layer).

Every variable is created at construction from static shapes. ``step`` is a pure function of
``(t, per-step inputs, state, sequence context)`` so that it can run in a Python loop or a ``tf.while_loop``.
"""

from __future__ import annotations

from typing import Dict, List, Optional, Tuple

import keras
import numpy as np
import tensorflow as tf

from vidpred_tf.layers.normalization import norm_layer
from vidpred_tf.layers.resampling import Conv2D, Dense, downsample_layer, upsample_layer
from vidpred_tf.layers.tf1_cells import BasicConv2DLSTMCell, TF1GRUCell, TF1LSTMCell
from vidpred_tf.models.savp.encoder import tile_concat

RELU_SHIFT = 1e-12


def layer_specs(height: int, width: int, ngf: int):
    """``(encoder specs, decoder specs)``: lists of ``(channels, has a conv-RNN)`` by ``min(H, W)``."""
    size = min(height, width)
    if size >= 256:
        enc = [(ngf, False), (ngf * 2, False), (ngf * 4, True), (ngf * 8, True), (ngf * 8, True)]
        dec = [(ngf * 8, True), (ngf * 4, True), (ngf * 2, False), (ngf, False), (ngf, False)]
    elif size >= 128:
        enc = [(ngf, False), (ngf * 2, True), (ngf * 4, True), (ngf * 8, True)]
        dec = [(ngf * 8, True), (ngf * 4, True), (ngf * 2, False), (ngf, False)]
    elif size >= 64:
        enc = [(ngf, True), (ngf * 2, True), (ngf * 4, True)]
        dec = [(ngf * 2, True), (ngf, True), (ngf, False)]
    elif size >= 32:
        enc = [(ngf, True), (ngf * 2, True)]
        dec = [(ngf, True), (ngf, False)]
    else:
        raise ValueError(f"SAVP generator: images of {height}x{width} are too small (min(H, W) must be >= 32)")
    stride = 2 ** len(enc)
    if height % stride or width % stride:
        raise ValueError(f"SAVP generator: image size {height}x{width} must be divisible by {stride}")
    return enc, dec


def identity_kernel(kernel_size) -> np.ndarray:
    """1 at the centre (the central 2x2 share it for even sizes)."""
    kernel = np.zeros(kernel_size, dtype=np.float32)
    centre = [slice(k // 2 - 1, k // 2 + 1) if k % 2 == 0 else slice(k // 2, k // 2 + 1) for k in kernel_size]
    kernel[tuple(centre)] = 1.0
    return kernel / kernel.sum()


def symmetric_pad(image, kernel_size, dilation=(1, 1)):
    pads = []
    for k, d in zip(kernel_size, dilation):
        total = (k - 1) * d
        pads.append([total // 2, total - total // 2])
    return tf.pad(image, [[0, 0]] + pads + [[0, 0]], mode="SYMMETRIC")


def apply_cdna_kernels(image, kernels, dilation=(1, 1)):
    """``image [B, H, W, C]``, ``kernels [B, kh, kw, N]`` -> N images: the per-sample kernel cross-correlated with
    every colour channel, SYMMETRIC padding."""
    height, width, channels = image.shape[1:]
    kh, kw, n = kernels.shape[1:]
    padded = symmetric_pad(image, (kh, kw), dilation)
    batch = tf.shape(image)[0]
    # channels as the batch, samples as the depthwise channels
    filters = tf.reshape(tf.transpose(kernels, [1, 2, 0, 3]), tf.stack([kh, kw, batch, n]))
    out = tf.nn.depthwise_conv2d(tf.transpose(padded, [3, 1, 2, 0]), filters, [1, 1, 1, 1], padding="VALID",
                                 dilations=list(dilation))
    out = tf.reshape(out, tf.stack([channels, height, width, batch, n]))
    return tf.unstack(tf.transpose(out, [4, 3, 1, 2, 0]), axis=0)


def apply_dna_kernels(image, kernels, dilation=(1, 1)):
    """``kernels [B, H, W, kh, kw, N]``: a kernel per pixel, SYMMETRIC padding."""
    height, width, channels = image.shape[1:]
    kh, kw, n = kernels.shape[3:]
    batch = tf.shape(image)[0]
    padded = symmetric_pad(image, (kh, kw), dilation)
    flat = tf.reshape(tf.transpose(padded, [3, 0, 1, 2]), tf.concat([[-1], tf.shape(padded)[1:3], [1]], 0))
    patches = tf.image.extract_patches(flat, [1, kh, kw, 1], [1, 1, 1, 1], [1] + list(dilation) + [1], "VALID")
    patches = tf.reshape(patches, tf.stack([channels, batch, height, width, kh * kw]))
    patches = tf.transpose(patches, [1, 2, 3, 0, 4])
    out = tf.matmul(patches, tf.reshape(kernels, tf.stack([batch, height, width, kh * kw, n])))
    return tf.unstack(out, axis=-1)


def apply_kernels(images: List[tf.Tensor], kernels, dilation=(1, 1)):
    outputs = []
    for image, part in zip(images, tf.split(kernels, len(images), axis=-1)):
        fn = apply_cdna_kernels if part.shape.rank == 4 else apply_dna_kernels
        outputs.extend(fn(image, part, dilation))
    return outputs


def image_warp(image, flow):
    """Backward bilinear warp (``flow_ops.image_warp``): ``flow[..., 0]`` is x, ``[..., 1]`` y; borders clamped."""
    height, width = image.shape[1], image.shape[2]
    floor = tf.floor(flow)
    frac = flow - floor
    floor = tf.cast(floor, tf.int32)
    gx = tf.range(width)[None, None, :]
    gy = tf.range(height)[None, :, None]
    x0 = gx + floor[..., 0]
    y0 = gy + floor[..., 1]
    x1, y1 = x0 + 1, y0 + 1
    x0, x1 = tf.clip_by_value(x0, 0, width - 1), tf.clip_by_value(x1, 0, width - 1)
    y0, y1 = tf.clip_by_value(y0, 0, height - 1), tf.clip_by_value(y1, 0, height - 1)
    xw, yw = frac[..., 0:1], frac[..., 1:2]

    def pick(y, x):
        return tf.gather_nd(image, tf.stack([y, x], axis=-1), batch_dims=1)

    return tf.add_n([(1 - xw) * (1 - yw) * pick(y0, x0), (1 - xw) * yw * pick(y1, x0),
                     xw * (1 - yw) * pick(y0, x1), xw * yw * pick(y1, x1)])


def apply_flows(images: List[tf.Tensor], flows):
    outputs = []
    for image, part in zip(images, tf.split(flows, len(images), axis=-1)):
        outputs.extend(image_warp(image, f) for f in tf.unstack(part, axis=-1))
    return outputs


def flow_to_rgb(flows):
    """``tf_utils.flow_to_rgb``: hue = angle, value = magnitude normalised over the whole tensor."""
    x, y = tf.unstack(flows, axis=-1)
    magnitude = tf.sqrt(tf.square(x) + tf.square(y))
    angle = (tf.atan2(y, x) + np.pi) / (2 * np.pi)
    low, high = tf.reduce_min(magnitude), tf.reduce_max(magnitude)
    hsv = tf.stack([angle, tf.ones_like(angle), (magnitude - low) / (high - low)], axis=-1)
    return tf.image.hsv_to_rgb(hsv)


def _activation(kind):
    if kind == "relu":
        return tf.nn.relu
    if kind == "elu":
        return tf.nn.elu
    raise ValueError(f"activation_layer: unknown kind {kind!r} (relu, elu)")


class _Block:
    """A scope of the cell: an ordered list of (sub-scope-free) layers; its TF1 names are ``<scope>/<name>``."""

    def __init__(self, scope: str, tracked: List[keras.layers.Layer]):
        self.scope = scope
        self.layers: List[keras.layers.Layer] = []
        self.tracked = tracked  # the owning Keras layer's tracked list, so that Keras sees the variables

    def add(self, layer, *build_args):
        if build_args:
            layer.build(*build_args)
        self.layers.append(layer)
        self.tracked.append(layer)
        return layer

    def tf1_variables(self):
        return [(f"{self.scope}/{n}", v) for layer in self.layers for n, v in layer.tf1_variables()]


class SAVPCell(keras.layers.Layer):
    """The SAVP cell for static ``image_shape (H, W, C)``, ``action_dim``, ``state_dim``; ``use_zs`` with nz > 0.

    ``zero_state(context)``, ``step(t, inputs_t, state, context) -> (outputs_t, new state)`` where ``inputs_t`` has
    ``images`` / ``actions`` / ``states`` / ``zs`` / ``pix_distribs`` at step t and ``context`` the whole (T-1)-long
    ``images`` (and ``pix_distribs``) plus ``ground_truth [T-1, B]`` bool.
    """

    def __init__(self, hparams, image_shape, action_dim=0, state_dim=0, use_zs=False, num_motions=0, **kwargs):
        super().__init__(**kwargs)
        hp = self.hp = hparams
        if hp.where_add not in ("input", "all", "middle"):
            raise ValueError(f"where_add: {hp.where_add!r} is not one of input, all, middle")
        if hp.conv_rnn not in ("lstm",):
            raise NotImplementedError(f"conv_rnn={hp.conv_rnn!r}: only 'lstm' is ported")
        if hp.transformation not in ("cdna", "dna", "flow"):
            raise ValueError(f"transformation: {hp.transformation!r} is not one of cdna, dna, flow")
        height, width, channels = self.image_shape = tuple(int(d) for d in image_shape)
        self.action_dim, self.state_dim, self.use_zs, self.num_motions = action_dim, state_dim, use_zs, num_motions
        self.encoder_specs, self.decoder_specs = layer_specs(height, width, hp.ngf)
        self.num_masks = (hp.last_frames * hp.num_transformed_images + int(bool(hp.prev_image_background))
                          + int(bool(hp.first_image_background and not hp.context_images_background))
                          + int(bool(hp.last_image_background and not hp.context_images_background))
                          + int(bool(hp.last_context_image_background and not hp.context_images_background))
                          + (hp.context_frames if hp.context_images_background else 0)
                          + int(bool(hp.generate_scratch_image)))
        if self.num_masks == 0:
            raise ValueError("SAVP generator: no candidate image (set last_frames and num_transformed_images, a "
                             "background image or generate_scratch_image)")
        self.activation = _activation(hp.activation_layer)
        self.blocks: Dict[str, _Block] = {}
        self.sublayers: List[keras.layers.Layer] = []
        self.initial_state_vars: List[keras.Variable] = []
        self._build_layers()
        self.built = True

    # --------------------------------------------------------------------------------------------- construction
    def _block(self, scope):
        block = self.blocks[scope] = _Block(scope, self.sublayers)
        return block

    def _conv_layer(self, scope, kind, filters, kernel_size, shape, non_spatial):
        """A scope with an (up/down)sampler or conv, its optional non-spatial dense, a norm; returns out shape."""
        hp = self.hp
        block = self._block(scope)
        if kind == "down":
            layer = downsample_layer(hp.downsample_layer, filters, kernel_size, strides=(2, 2))
            out_hw = (shape[0] // 2, shape[1] // 2)
        elif kind == "up":
            layer = upsample_layer(hp.upsample_layer, filters, kernel_size, strides=(2, 2))
            out_hw = (shape[0] * 2, shape[1] * 2)
        else:
            layer = Conv2D(filters, kernel_size)
            out_hw = (shape[0], shape[1])
        block.add(layer, (None,) + tuple(shape))
        if non_spatial is not None:
            block.add(Dense(filters, use_bias=False), (None, non_spatial))
        block.add(norm_layer(hp.norm_layer), (None,) + out_hw + (filters,))
        return out_hw + (filters,)

    def _conv_rnn_layer(self, scope, filters, shape):
        hp = self.hp
        block = self._block(scope)
        saz = self.saz_dim
        spatial, non_spatial = shape[2], None
        if hp.where_add == "all":
            if hp.use_tile_concat:
                spatial += saz
            else:
                non_spatial = saz
        if hp.ablation_rnn:
            block.add(Conv2D(filters, (5, 5)), (None, shape[0], shape[1], spatial))
            if non_spatial is not None:
                block.add(Dense(filters, use_bias=False), (None, non_spatial))
            block.add(norm_layer(hp.norm_layer), (None, shape[0], shape[1], filters))
            return
        normalizer = None if hp.conv_rnn_norm_layer == "none" else hp.conv_rnn_norm_layer
        if hp.ablation_conv_rnn_norm:
            cell = BasicConv2DLSTMCell(filters, (5, 5), normalizer=None)
            block.add(cell, spatial, non_spatial or 0)
            block.add(norm_layer(hp.conv_rnn_norm_layer), (None, shape[0], shape[1], filters))
        else:
            cell = BasicConv2DLSTMCell(filters, (5, 5), normalizer=normalizer,
                                       separate_norms=hp.conv_rnn_norm_layer == "layer")
            block.add(cell, spatial, non_spatial or 0)
        self.conv_rnn_shapes.append((shape[0], shape[1], filters))

    def _build_layers(self):
        hp = self.hp
        height, width, channels = self.image_shape
        nz = hp.nz if self.use_zs else 0
        self.state_action_dim = self.action_dim + self.state_dim
        self.saz_dim = self.state_action_dim + nz
        self.conv_rnn_shapes: List[Tuple[int, int, int]] = []

        def add_z(shape, where):
            if where:
                if hp.use_tile_concat:
                    return shape[:2] + (shape[2] + self.saz_dim,), None
                return shape, self.saz_dim
            return shape, None

        if self.use_zs and hp.use_rnn_z:
            if hp.ablation_rnn:
                self._block("fc_z").add(Dense(hp.nz), (None, hp.nz))
            elif hp.rnn == "lstm":
                self._block("lstm_z").add(TF1LSTMCell(hp.nz, scope="basic_lstm_cell"), hp.nz)
            elif hp.rnn == "gru":
                self._block("gru_z").add(TF1GRUCell(hp.nz, scope="gru_cell"), hp.nz)
            else:
                raise ValueError(f"rnn: unknown cell {hp.rnn!r} (lstm, gru)")
        rnn_prefix = "conv" if hp.ablation_rnn else hp.conv_rnn
        shapes = []  # output shape of every layer (the conv-RNN's if it has one)
        shape = (height, width, 2 * channels)
        for i, (out, use_rnn) in enumerate(self.encoder_specs):
            if i > 0:
                shape = shapes[-1]
            in_shape, non_spatial = add_z(shape, hp.where_add == "all" or (hp.where_add == "input" and i == 0))
            shape = self._conv_layer(f"h{i}", "down", out, (5, 5) if i == 0 else (3, 3), in_shape, non_spatial)
            if use_rnn:
                self._conv_rnn_layer(f"{rnn_prefix}_h{i}", out, shape)
            shapes.append(shape)
        num_enc = len(shapes)
        for i, (out, use_rnn) in enumerate(self.decoder_specs):
            shape = shapes[-1]
            if i > 0:
                shape = shape[:2] + (shape[2] + shapes[num_enc - i - 1][2],)
            in_shape, non_spatial = add_z(shape, hp.where_add == "all" or (hp.where_add == "middle" and i == 0))
            index = len(shapes)
            shape = self._conv_layer(f"h{index}", "up", out, (3, 3), in_shape, non_spatial)
            if use_rnn:
                self._conv_rnn_layer(f"{rnn_prefix}_h{index}", out, shape)
            shapes.append(shape)
        self.num_layers = num_layers = len(shapes)
        last = shapes[-1]
        n = hp.last_frames * hp.num_transformed_images
        self.kernel_size = list(hp.kernel_size)
        if n:
            if hp.transformation == "flow":
                self._conv_layer(f"h{num_layers}_flow", "same", hp.ngf, (3, 3), last, None)
                self._block("flows").add(Conv2D(2 * n, (3, 3)), (None, height, width, hp.ngf))
            elif hp.transformation == "dna":
                self._conv_layer(f"h{num_layers}_dna_kernel", "same", hp.ngf, (3, 3), last, None)
                self._block("dna_kernels").add(Conv2D(int(np.prod(self.kernel_size)) * n, (3, 3)),
                                               (None, height, width, hp.ngf))
            else:
                smallest = shapes[num_enc - 1]
                self._block("cdna_kernels").add(Dense(int(np.prod(self.kernel_size)) * n),
                                                (None, int(np.prod(smallest))))
        if hp.generate_scratch_image:
            self._conv_layer(f"h{num_layers}_scratch", "same", hp.ngf, (3, 3), last, None)
            self._block("scratch_image").add(Conv2D(channels, (3, 3)), (None, height, width, hp.ngf))
        if self.num_masks > 1:
            self._conv_layer(f"h{num_layers}_masks", "same", hp.ngf, (3, 3), last, None)
            mask_in = hp.ngf + (self.num_masks * channels if hp.dependent_mask else 0)
            self._block("masks").add(Conv2D(self.num_masks, (3, 3)), (None, height, width, mask_in))
        if self.state_dim:
            self._block("state_pred").add(Dense(self.state_dim), (None, self.state_action_dim))
        if hp.learn_initial_state:
            for i, size in enumerate(self._initial_state_sizes()):
                self.initial_state_vars.append(self.add_weight(name=f"initial_state_{i}", shape=size,
                                                               initializer="zeros"))

    def _initial_state_sizes(self):
        sizes = []
        for shape in ([] if self.hp.ablation_rnn else self.conv_rnn_shapes):
            sizes += [shape, shape]
        if self.use_zs and self.hp.use_rnn_z and not self.hp.ablation_rnn:
            sizes += [(self.hp.nz,)] * (2 if self.hp.rnn == "lstm" else 1)
        return sizes

    def tf1_variables(self) -> List[Tuple[str, keras.Variable]]:
        """Names relative to the ``generator`` scope, in the original's creation order."""
        names = [(f"initial_state_{i}/initial_state", v) for i, v in enumerate(self.initial_state_vars)]
        for block in self.blocks.values():
            names += [(f"rnn/savp_cell/{n}", v) for n, v in block.tf1_variables()]
        return names

    # ------------------------------------------------------------------------------------------------- running
    def zero_state(self, context):
        images = context["images"]
        batch = tf.shape(images)[1]
        hp = self.hp
        state = {"gen_image": tf.zeros_like(images[0]), "last_images": [images[0]] * hp.last_frames}
        learned = list(self.initial_state_vars)

        def initial(shape):
            if learned:
                value = learned.pop(0)
                return tf.tile(tf.convert_to_tensor(value)[None], [batch] + [1] * len(shape))
            return tf.zeros(tf.stack([batch] + list(shape)))

        conv_states = []
        if not hp.ablation_rnn:
            for shape in self.conv_rnn_shapes:
                conv_states.append((initial(shape), initial(shape)))
        state["conv_rnn_states"] = conv_states
        if self.use_zs and hp.use_rnn_z and not hp.ablation_rnn:
            if hp.rnn == "lstm":
                state["rnn_z_state"] = (initial((hp.nz,)), initial((hp.nz,)))
            else:
                state["rnn_z_state"] = initial((hp.nz,))
        if "pix_distribs" in context:
            pix = context["pix_distribs"]
            state["gen_pix_distrib"] = tf.zeros_like(pix[0])
            state["last_pix_distribs"] = [pix[0]] * hp.last_frames
        if self.state_dim:
            state["gen_state"] = tf.zeros(tf.stack([batch, self.state_dim]))
        return state

    def _run_block(self, scope, x, non_spatial=None, activate=True):
        layers = self.blocks[scope].layers
        h = layers[0](x)
        rest = layers[1:]
        if isinstance(rest[0] if rest else None, Dense):
            h = h + rest[0](non_spatial)[:, None, None, :]
            rest = rest[1:]
        for layer in rest:
            h = layer(h)
        return self.activation(h) if activate else h

    def step(self, t, inputs, state, context):
        hp = self.hp
        height, width, channels = self.image_shape
        gt = tf.gather(context["ground_truth"], t)
        images_seq = context["images"]
        first = images_seq[0]
        image = tf.where(gt[:, None, None, None], inputs["images"], state["gen_image"])
        last_images = state["last_images"][1:] + [image]
        new_state = {}
        has_pix = "pix_distribs" in inputs
        if has_pix:
            pix_distrib = tf.where(gt[:, None, None, None], inputs["pix_distribs"], state["gen_pix_distrib"])
            last_pix = state["last_pix_distribs"][1:] + [pix_distrib]
        batch = tf.shape(image)[0]
        state_action, state_action_z = [], []
        if "actions" in inputs:
            state_action.append(inputs["actions"])
            state_action_z.append(inputs["actions"])
        if self.state_dim:
            cur_state = tf.where(gt[:, None], inputs["states"], state["gen_state"])
            state_action.append(cur_state)
            state_action_z.append(tf.stop_gradient(cur_state))
        if self.use_zs:
            if hp.use_rnn_z:
                if hp.ablation_rnn:
                    rnn_z = tf.tanh(self.blocks["fc_z"].layers[0](inputs["zs"]))
                else:
                    cell = self.blocks[f"{hp.rnn}_z"].layers[0]
                    rnn_z, new_state["rnn_z_state"] = cell(inputs["zs"], state["rnn_z_state"])
                state_action_z.append(rnn_z)
            else:
                state_action_z.append(inputs["zs"])

        def cat(tensors):
            if not tensors:
                return tf.zeros(tf.stack([batch, 0]))
            return tensors[0] if len(tensors) == 1 else tf.concat(tensors, axis=-1)

        state_action, saz = cat(state_action), cat(state_action_z)

        def with_z(h, where):
            if not where:
                return h, None
            if hp.use_tile_concat:
                return tile_concat(h, saz), None
            return h, saz

        rnn_prefix = "conv" if hp.ablation_rnn else hp.conv_rnn
        conv_states = state["conv_rnn_states"]
        new_conv_states = []

        def conv_rnn(scope, h):
            if hp.where_add == "all":
                x, non_spatial = with_z(h, True)
            else:
                x, non_spatial = h, None
            if hp.ablation_rnn:
                return self._run_block(scope, x, non_spatial)
            layers = self.blocks[scope].layers
            cell_in = x if non_spatial is None else (x, non_spatial)
            out, new = layers[0](cell_in, conv_states[len(new_conv_states)])
            new_conv_states.append(new)
            if hp.ablation_conv_rnn_norm:
                out = layers[1](out)
            return out

        outs = []  # last output of every layer
        for i, (out_ch, use_rnn) in enumerate(self.encoder_specs):
            h = tf.concat([image, first], axis=-1) if i == 0 else outs[-1]
            x, non_spatial = with_z(h, hp.where_add == "all" or (hp.where_add == "input" and i == 0))
            h = self._run_block(f"h{i}", x, non_spatial)
            if use_rnn:
                h = conv_rnn(f"{rnn_prefix}_h{i}", h)
            outs.append(h)
        num_enc = len(outs)
        for i, (out_ch, use_rnn) in enumerate(self.decoder_specs):
            h = outs[-1] if i == 0 else tf.concat([outs[-1], outs[num_enc - i - 1]], axis=-1)
            x, non_spatial = with_z(h, hp.where_add == "all" or (hp.where_add == "middle" and i == 0))
            index = len(outs)
            h = self._run_block(f"h{index}", x, non_spatial)
            if use_rnn:
                h = conv_rnn(f"{rnn_prefix}_h{index}", h)
            outs.append(h)
        num_layers = len(outs)
        n = hp.last_frames * hp.num_transformed_images
        outputs = {}
        if n:
            if hp.transformation == "flow":
                h_flow = self._run_block(f"h{num_layers}_flow", outs[-1])
                flows = self.blocks["flows"].layers[0](h_flow)
                flows = tf.reshape(flows, tf.stack([batch, height, width, 2, n]))
            else:
                if hp.transformation == "dna":
                    h_dna = self._run_block(f"h{num_layers}_dna_kernel", outs[-1])
                    kernels = self.blocks["dna_kernels"].layers[0](h_dna)
                    kernels = tf.reshape(kernels, tf.concat([[batch, height, width], self.kernel_size, [n]], 0))
                    kernels = kernels + identity_kernel(self.kernel_size)[None, None, None, :, :, None]
                    axes = [3, 4]
                else:
                    smallest = outs[num_enc - 1]
                    flat = tf.reshape(smallest, tf.stack([batch, int(np.prod(smallest.shape[1:]))]))
                    kernels = self.blocks["cdna_kernels"].layers[0](flat)
                    kernels = tf.reshape(kernels, tf.concat([[batch], self.kernel_size, [n]], 0))
                    kernels = kernels + identity_kernel(self.kernel_size)[None, :, :, None]
                    axes = [1, 2]
                kernels = tf.nn.relu(kernels - RELU_SHIFT) + RELU_SHIFT
                kernels = kernels / tf.reduce_sum(kernels, axis=axes, keepdims=True)
        if hp.generate_scratch_image:
            h_scratch = self._run_block(f"h{num_layers}_scratch", outs[-1])
            scratch = tf.sigmoid(self.blocks["scratch_image"].layers[0](h_scratch))

        def candidates(last, current, seq, scratch_like):
            out = []
            if n:
                if hp.transformation == "flow":
                    out.extend(apply_flows(last, flows))
                else:
                    out.extend(apply_kernels(last, kernels, tuple(hp.dilation_rate)))
            if hp.prev_image_background:
                out.append(current)
            if hp.first_image_background and not hp.context_images_background:
                out.append(seq[0])
            if hp.last_image_background and not hp.context_images_background:
                out.append(seq[hp.context_frames - 1])
            if hp.last_context_image_background and not hp.context_images_background:
                out.append(tf.gather(seq, tf.minimum(t, hp.context_frames - 1)))
            if hp.context_images_background:
                out.extend(tf.unstack(seq[:hp.context_frames]))
            if hp.generate_scratch_image:
                out.append(scratch_like)
            return out

        transformed = candidates(last_images, image, images_seq, scratch if hp.generate_scratch_image else None)
        if len(transformed) > 1:
            h_masks = self._run_block(f"h{num_layers}_masks", outs[-1])
            if hp.dependent_mask:
                h_masks = tf.concat([h_masks] + transformed, axis=-1)
            masks = tf.nn.softmax(self.blocks["masks"].layers[0](h_masks))
            masks = tf.split(masks, len(transformed), axis=-1)
        else:
            masks = [tf.ones(tf.stack([batch, height, width, 1]))]
        gen_image = tf.add_n([x * m for x, m in zip(transformed, masks)])
        outputs["gen_images"] = gen_image
        outputs["transformed_images"] = tf.stack(transformed, axis=-1)
        outputs["masks"] = tf.stack(masks, axis=-1)
        if has_pix:
            transformed_pix = candidates(last_pix, pix_distrib, context["pix_distribs"], pix_distrib)
            gen_pix = tf.add_n([x * m for x, m in zip(transformed_pix, masks)])
            gen_pix = gen_pix / tf.reduce_sum(gen_pix, axis=(1, 2), keepdims=True)
            outputs["gen_pix_distribs"] = gen_pix
            outputs["transformed_pix_distribs"] = tf.stack(transformed_pix, axis=-1)
            new_state["gen_pix_distrib"] = gen_pix
            new_state["last_pix_distribs"] = last_pix
        if self.state_dim:
            gen_state = self.blocks["state_pred"].layers[0](state_action)
            outputs["gen_states"] = gen_state
            new_state["gen_state"] = gen_state
        if n and hp.transformation == "flow":
            outputs["gen_flows"] = flows
            rgb = flow_to_rgb(tf.transpose(flows, [0, 1, 2, 4, 3]))
            outputs["gen_flows_rgb"] = tf.transpose(rgb, [0, 1, 2, 4, 3])
        new_state.update({"gen_image": gen_image, "last_images": last_images, "conv_rnn_states": new_conv_states})
        return outputs, new_state

    def unroll(self, inputs: Dict[str, tf.Tensor], ground_truth, num_steps: Optional[int] = None):
        """Run ``step`` over the (T-1)-long time-major ``inputs``; returns stacked ``[T-1, B, ...]`` outputs."""
        context = {"images": inputs["images"], "ground_truth": ground_truth}
        if "pix_distribs" in inputs:
            context["pix_distribs"] = inputs["pix_distribs"]
        state = self.zero_state(context)
        steps = num_steps or inputs["images"].shape[0]
        collected: Dict[str, List[tf.Tensor]] = {}
        for t in range(steps):
            inputs_t = {name: value[t] for name, value in inputs.items()}
            outputs, state = self.step(t, inputs_t, state, context)
            for key, value in outputs.items():
                collected.setdefault(key, []).append(value)
        return {key: tf.stack(values) for key, values in collected.items()}

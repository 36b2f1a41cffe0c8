"""StyleGAN2 networks (Karras et al. 2020, arXiv 1912.04958) in Keras 3.

Layout, names and defaults follow NVIDIA's stylegan2-ada-pytorch
`training/networks.py`: a mapping network z -> w (8 equalized-lr layers,
lr multiplier 0.01, tracked `w_avg` for truncation), a "skip" synthesis network
of modulated convs with per-layer noise and toRGB outputs summed across
resolutions, and a "resnet" discriminator with minibatch stddev and optional
projection conditioning. Images are NHWC.

Example:
    >>> import numpy as np
    >>> G_kwargs, D_kwargs = cfg_kwargs("cifar", resolution=32)
    >>> G = Generator(**{**G_kwargs, "synthesis_kwargs": {**G_kwargs["synthesis_kwargs"], "channel_base": 512}})
    >>> img = G(np.zeros((2, 512), "float32"))
    >>> tuple(img.shape)
    (2, 32, 32, 3)
"""

import math

import keras
import numpy as np
from keras import ops

from ganzoo.engine.registry import register
from ganzoo.layers.minibatch import MinibatchStdLayer
from ganzoo.layers.stylegan import (
    ConstantInput,
    EqualizedConv2D,
    EqualizedDense,
    SynthesisLayer,
    ToRGB,
    _check_noise_mode,
    normalize_2nd_moment,
    setup_filter,
    upsample2d,
)

def _register(cls):
    # Registered as "ganzoo>StyleGAN2<Class>" so other families can have a `Generator` too.
    return keras.saving.register_keras_serializable(package="ganzoo", name=f"StyleGAN2{cls.__name__}")(cls)

# stylegan2-ada-pytorch train.py `cfg_specs`: feature-map multiplier, mapping
# depth and minibatch-stddev group. 'f' is the original StyleGAN2 config F
# (no fp16, so no clamp); the ada configs train in mixed precision with clamp 256.
# The one source of the per-config defaults: `cfg_spec` resolves it for
# `cfg_kwargs` and for the recipe builders alike.
CFG_SPECS = {
    "f": dict(fmaps=1, map=8, mbstd=4, conv_clamp=None),
    "stylegan2": dict(fmaps=1, map=8, mbstd=4, conv_clamp=256),
    "paper256": dict(fmaps=0.5, map=8, mbstd=8, conv_clamp=256),
    "paper512": dict(fmaps=1, map=8, mbstd=8, conv_clamp=256),
    "paper1024": dict(fmaps=1, map=8, mbstd=4, conv_clamp=256),
    "cifar": dict(fmaps=1, map=2, mbstd=32, conv_clamp=256, d_architecture="orig"),
}


def check_resolution(resolution, low=4, high=None):
    """Return `resolution` as int if it is a power of two in [low, high], else raise.

    Example:
        >>> check_resolution(256)
        256
    """
    r = int(resolution)
    if r != resolution or r < low or (high is not None and r > high) or r & (r - 1):
        bounds = f"{low}..{high}" if high else f">= {low}"
        raise ValueError(f"resolution must be a power of two in {bounds}, got {resolution!r}")
    return r


def cfg_spec(cfg="f", resolution=None):
    """The network defaults of a stylegan2-ada `--cfg`, read from `CFG_SPECS`.

    `cfg` is one of 'f' (original StyleGAN2 config F), 'stylegan2',
    'paper256', 'paper512', 'paper1024', 'cifar' or 'auto' (ada's heuristic
    for one GPU, which needs `resolution`: fmaps 1 from 512 px up else 0.5,
    2 mapping layers, mbstd 4). Returns `channel_base`, `channel_max`,
    `mapping_layers`, `mbstd_group_size`, `conv_clamp` and `d_architecture`.

    Example:
        >>> spec = cfg_spec("paper256")
        >>> spec["channel_base"], spec["mbstd_group_size"], spec["d_architecture"]
        (16384, 8, 'resnet')
    """
    if cfg == "auto":
        if resolution is None:
            raise ValueError("cfg='auto' needs the resolution")
        spec = dict(fmaps=1 if int(resolution) >= 512 else 0.5, map=2, mbstd=4, conv_clamp=256)
    elif cfg in CFG_SPECS:
        spec = CFG_SPECS[cfg]
    else:
        raise ValueError(f"cfg must be 'auto' or one of {sorted(CFG_SPECS)}, got {cfg!r}")
    return dict(
        channel_base=int(spec["fmaps"] * 32768), channel_max=512, mapping_layers=spec["map"],
        mbstd_group_size=spec["mbstd"], conv_clamp=spec["conv_clamp"],
        d_architecture=spec.get("d_architecture", "resnet"),
    )


def cfg_kwargs(cfg="stylegan2", resolution=1024, c_dim=0, img_channels=3, z_dim=512, w_dim=512):
    """`Generator` and `Discriminator` kwargs for a stylegan2-ada `--cfg` (see `cfg_spec`).

    Resolution must be a power of two in 32..1024 (the ada training configs).

    Example:
        >>> G_kwargs, D_kwargs = cfg_kwargs("paper256", resolution=256)
        >>> G_kwargs["synthesis_kwargs"]["channel_base"], D_kwargs["mbstd_group_size"]
        (16384, 8)
    """
    resolution = check_resolution(resolution, low=32, high=1024)
    spec = cfg_spec(cfg, resolution)
    G_kwargs = dict(
        z_dim=z_dim, c_dim=c_dim, w_dim=w_dim, img_resolution=resolution, img_channels=img_channels,
        mapping_kwargs=dict(num_layers=spec["mapping_layers"]),
        synthesis_kwargs=dict(channel_base=spec["channel_base"], channel_max=spec["channel_max"],
                              conv_clamp=spec["conv_clamp"]),
    )
    D_kwargs = dict(
        c_dim=c_dim, img_resolution=resolution, img_channels=img_channels,
        architecture=spec["d_architecture"], channel_base=spec["channel_base"], channel_max=spec["channel_max"],
        conv_clamp=spec["conv_clamp"], mbstd_group_size=spec["mbstd_group_size"],
    )
    return G_kwargs, D_kwargs


def channels_for(resolution, channel_base, channel_max):
    """Feature maps at a resolution: `min(channel_base // resolution, channel_max)`.

    Example:
        >>> channels_for(1024, 32768, 512), channels_for(64, 32768, 512)
        (32, 512)
    """
    return min(int(channel_base) // int(resolution), int(channel_max))


# ----------------------------------------------------------------------------
# Generator.


@_register
class MappingNetwork(keras.layers.Layer):
    """z (and optional class c) -> w, broadcast to `num_ws` layers, with truncation.

    z is normalised by its second moment; c is embedded by a dense layer and
    normalised the same way, then concatenated. `w_avg` is a non-trainable
    variable updated as `w_avg <- lerp(mean(w), w_avg, beta)` when
    `update_w_avg` (default: `training`). Truncation: `w_avg + psi (w - w_avg)`
    on the first `truncation_cutoff` ws (all when None).

    Example:
        >>> import numpy as np
        >>> mapping = MappingNetwork(z_dim=8, c_dim=0, w_dim=16, num_ws=4)
        >>> tuple(mapping(np.ones((2, 8), "float32")).shape)
        (2, 4, 16)
    """

    def __init__(
        self,
        z_dim,
        c_dim,
        w_dim,
        num_ws,
        num_layers=8,
        embed_features=None,
        layer_features=None,
        activation="lrelu",
        lr_multiplier=0.01,
        w_avg_beta=0.995,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.z_dim, self.c_dim, self.w_dim = int(z_dim), int(c_dim), int(w_dim)
        self.num_ws = None if num_ws is None else int(num_ws)
        self.num_layers = int(num_layers)
        if self.z_dim + self.c_dim == 0:
            raise ValueError("MappingNetwork needs z_dim > 0 or c_dim > 0")
        if self.num_layers < 1:
            raise ValueError(f"num_layers must be >= 1, got {num_layers}")
        self.embed_features = embed_features
        self.layer_features = layer_features
        self.activation = activation
        self.lr_multiplier = float(lr_multiplier)
        self.w_avg_beta = None if w_avg_beta is None else float(w_avg_beta)

        embed = 0 if self.c_dim == 0 else int(embed_features or self.w_dim)
        hidden = int(layer_features or self.w_dim)
        features = [self.z_dim + embed] + [hidden] * (self.num_layers - 1) + [self.w_dim]
        self.embed = EqualizedDense(embed, in_features=self.c_dim, name="embed") if self.c_dim else None
        self.fcs = [
            EqualizedDense(
                features[i + 1], in_features=features[i], activation=activation,
                lr_multiplier=self.lr_multiplier, name=f"fc{i}",
            )
            for i in range(self.num_layers)
        ]

    def build(self, input_shape=None):
        if self.embed is not None:
            self.embed.build((None, self.c_dim))
        for fc in self.fcs:
            fc.build((None, fc.in_features))
        self.w_avg = None
        if self.w_avg_beta is not None:
            self.w_avg = self.add_weight(name="w_avg", shape=(self.w_dim,), initializer="zeros", trainable=False)

    def call(self, z, c=None, truncation_psi=1.0, truncation_cutoff=None, update_w_avg=None, training=None):
        parts = []
        if self.z_dim:
            if z is None or z.shape[-1] != self.z_dim:
                raise ValueError(f"z must have shape (N, {self.z_dim}), got {None if z is None else z.shape}")
            parts.append(normalize_2nd_moment(ops.cast(z, "float32")))
        if self.c_dim:
            if c is None or c.shape[-1] != self.c_dim:
                raise ValueError(f"c must have shape (N, {self.c_dim}), got {None if c is None else c.shape}")
            parts.append(normalize_2nd_moment(self.embed(ops.cast(c, "float32"))))
        x = parts[0] if len(parts) == 1 else ops.concatenate(parts, axis=1)
        for fc in self.fcs:
            x = fc(x)

        if update_w_avg is None:
            update_w_avg = bool(training)
        if update_w_avg and self.w_avg is not None:
            batch_mean = ops.mean(ops.stop_gradient(x), axis=0)
            self.w_avg.assign(batch_mean + self.w_avg_beta * (self.w_avg - batch_mean))

        if self.num_ws is not None:
            x = ops.repeat(x[:, None, :], self.num_ws, axis=1)
        if truncation_psi != 1:
            if self.w_avg is None:
                raise ValueError("truncation needs w_avg; this mapping network has w_avg_beta=None")
            truncated = self.w_avg + truncation_psi * (x - self.w_avg)
            if self.num_ws is None or truncation_cutoff is None:
                x = truncated
            else:
                keep = (np.arange(self.num_ws) < int(truncation_cutoff))[None, :, None]
                x = ops.where(keep, truncated, x)
        return x

    def get_config(self):
        config = super().get_config()
        config.update(
            z_dim=self.z_dim, c_dim=self.c_dim, w_dim=self.w_dim, num_ws=self.num_ws,
            num_layers=self.num_layers, embed_features=self.embed_features,
            layer_features=self.layer_features, activation=self.activation,
            lr_multiplier=self.lr_multiplier, w_avg_beta=self.w_avg_beta,
        )
        return config


@_register
class SynthesisBlock(keras.layers.Layer):
    """One resolution of the synthesis network: [const |] conv0 (up), conv1, toRGB.

    `call(ws, x, img)` takes the `num_conv + num_torgb` ws of this block and
    returns `(x, img)`; with the 'skip' architecture `img` is the upsampled
    image of the previous block plus this block's toRGB output.

    Example:
        >>> import numpy as np
        >>> block = SynthesisBlock(0, 8, w_dim=16, resolution=4, img_channels=3, is_last=True)
        >>> x, img = block(np.ones((2, 2, 16), "float32"), noise_mode="none")
        >>> tuple(img.shape)
        (2, 4, 4, 3)
    """

    def __init__(
        self,
        in_channels,
        out_channels,
        w_dim,
        resolution,
        img_channels,
        is_last,
        architecture="skip",
        resample_filter=(1, 3, 3, 1),
        conv_clamp=None,
        use_noise=True,
        activation="lrelu",
        style_mode="modulated",
        **kwargs,
    ):
        super().__init__(**kwargs)
        if architecture not in ("skip", "orig"):
            raise ValueError(f"synthesis architecture must be 'skip' or 'orig', got {architecture!r}")
        self.in_channels, self.out_channels = int(in_channels), int(out_channels)
        self.w_dim, self.resolution = int(w_dim), int(resolution)
        self.img_channels, self.is_last = int(img_channels), bool(is_last)
        self.architecture = architecture
        self.resample_filter = [float(v) for v in np.ravel(resample_filter)]
        self.conv_clamp = None if conv_clamp is None else float(conv_clamp)
        self.use_noise, self.activation, self.style_mode = bool(use_noise), activation, style_mode
        self._filter = setup_filter(self.resample_filter)

        layer_kwargs = dict(
            w_dim=self.w_dim, resolution=self.resolution, use_noise=self.use_noise, activation=activation,
            resample_filter=self.resample_filter, conv_clamp=self.conv_clamp, style_mode=style_mode,
        )
        self.const = ConstantInput(self.out_channels, self.resolution, name="const") if self.in_channels == 0 else None
        self.conv0 = None
        if self.in_channels:
            self.conv0 = SynthesisLayer(self.in_channels, self.out_channels, up=2, name="conv0", **layer_kwargs)
        self.conv1 = SynthesisLayer(self.out_channels, self.out_channels, name="conv1", **layer_kwargs)
        self.torgb = None
        if self.is_last or architecture == "skip":
            self.torgb = ToRGB(
                self.img_channels, self.out_channels, self.w_dim, conv_clamp=self.conv_clamp, name="torgb"
            )
        self.num_conv = 1 + (self.conv0 is not None)
        self.num_torgb = int(self.torgb is not None)

    def build(self, input_shape=None):
        for layer in (self.const, self.conv0, self.conv1, self.torgb):
            if layer is not None:
                layer.build()

    def call(self, ws, x=None, img=None, noise_mode="random"):
        if self.in_channels == 0:
            x = self.const(ws)
        i = 0
        if self.conv0 is not None:
            x = self.conv0(x, ws[:, 0], noise_mode=noise_mode)
            i = 1
        x = self.conv1(x, ws[:, i], noise_mode=noise_mode)
        if img is not None:
            img = upsample2d(img, self._filter)
        if self.torgb is not None:
            y = self.torgb(x, ws[:, i + 1])
            img = y if img is None else img + y
        return x, img

    def get_config(self):
        config = super().get_config()
        config.update(
            in_channels=self.in_channels, out_channels=self.out_channels, w_dim=self.w_dim,
            resolution=self.resolution, img_channels=self.img_channels, is_last=self.is_last,
            architecture=self.architecture, resample_filter=self.resample_filter,
            conv_clamp=self.conv_clamp, use_noise=self.use_noise, activation=self.activation,
            style_mode=self.style_mode,
        )
        return config


@_register
class SynthesisNetwork(keras.layers.Layer):
    """ws (N, num_ws, w_dim) -> images (N, R, R, C) through blocks b4 ... bR.

    Block `bR` uses channels `min(channel_base // R, channel_max)`; block ws
    overlap by one (a block's toRGB shares its w with the next block's conv0),
    giving `num_ws = 2 log2(R) - 2`.

    Example:
        >>> import numpy as np
        >>> syn = SynthesisNetwork(w_dim=16, img_resolution=32, img_channels=3, channel_base=128, channel_max=16)
        >>> syn.num_ws, tuple(syn(np.ones((1, syn.num_ws, 16), "float32"), noise_mode="const").shape)
        (8, (1, 32, 32, 3))
    """

    def __init__(
        self,
        w_dim,
        img_resolution,
        img_channels,
        channel_base=32768,
        channel_max=512,
        architecture="skip",
        resample_filter=(1, 3, 3, 1),
        conv_clamp=None,
        use_noise=True,
        activation="lrelu",
        style_mode="modulated",
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.w_dim = int(w_dim)
        self.img_resolution = check_resolution(img_resolution, low=8, high=1024)
        self.img_channels = int(img_channels)
        self.channel_base, self.channel_max = int(channel_base), int(channel_max)
        self.block_kwargs = dict(
            architecture=architecture, resample_filter=[float(v) for v in np.ravel(resample_filter)],
            conv_clamp=None if conv_clamp is None else float(conv_clamp), use_noise=bool(use_noise),
            activation=activation, style_mode=style_mode,
        )
        log2 = int(math.log2(self.img_resolution))
        self.block_resolutions = [2**i for i in range(2, log2 + 1)]
        channels = {r: channels_for(r, self.channel_base, self.channel_max) for r in self.block_resolutions}
        if min(channels.values()) < 1:
            raise ValueError(f"channel_base {channel_base} gives zero channels at {self.img_resolution}px")
        self.blocks = []
        self.num_ws = 0
        for res in self.block_resolutions:
            block = SynthesisBlock(
                channels[res // 2] if res > 4 else 0, channels[res], w_dim=self.w_dim, resolution=res,
                img_channels=self.img_channels, is_last=res == self.img_resolution, name=f"b{res}",
                **self.block_kwargs,
            )
            setattr(self, f"b{res}", block)
            self.blocks.append(block)
            self.num_ws += block.num_conv
        self.num_ws += self.blocks[-1].num_torgb

    def build(self, input_shape=None):
        for block in self.blocks:
            block.build()

    def call(self, ws, noise_mode="random"):
        _check_noise_mode(noise_mode)
        if len(ws.shape) != 3 or ws.shape[1] != self.num_ws or ws.shape[2] != self.w_dim:
            raise ValueError(f"ws must have shape (N, {self.num_ws}, {self.w_dim}), got {tuple(ws.shape)}")
        ws = ops.cast(ws, "float32")
        x = img = None
        w_idx = 0
        for block in self.blocks:
            n = block.num_conv + block.num_torgb
            x, img = block(ws[:, w_idx : w_idx + n], x, img, noise_mode=noise_mode)
            w_idx += block.num_conv
        return img

    def get_config(self):
        config = super().get_config()
        config.update(
            w_dim=self.w_dim, img_resolution=self.img_resolution, img_channels=self.img_channels,
            channel_base=self.channel_base, channel_max=self.channel_max, **self.block_kwargs,
        )
        return config


@_register
class Generator(keras.Model):
    """StyleGAN2 generator: `mapping` (z, c -> ws) followed by `synthesis` (ws -> image).

    `G(z, c=None, truncation_psi=1, truncation_cutoff=None, noise_mode=None)`
    returns NHWC images in about [-1, 1]; `noise_mode=None` means 'random' in
    training and 'const' otherwise. For style mixing / W-space work, call
    `G.mapping(z, c)` to get ws (N, num_ws, w_dim), edit them (see
    `mix_styles`), then `G.synthesis(ws, noise_mode=...)`. `G.mapping.w_avg`
    is the tracked mean w (a non-trainable variable); it moves only when
    `update_w_avg` is true (default: `training`), so a training step can call
    the mapping several times and update the average once.

    Example:
        >>> import numpy as np
        >>> G = Generator(z_dim=8, c_dim=0, w_dim=16, img_resolution=32, img_channels=3,
        ...               synthesis_kwargs=dict(channel_base=128, channel_max=16))
        >>> ws = G.mapping(np.ones((2, 8), "float32"))
        >>> tuple(G.synthesis(ws, noise_mode="const").shape)
        (2, 32, 32, 3)
    """

    def __init__(
        self,
        z_dim=512,
        c_dim=0,
        w_dim=512,
        img_resolution=1024,
        img_channels=3,
        mapping_kwargs=None,
        synthesis_kwargs=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.z_dim, self.c_dim, self.w_dim = int(z_dim), int(c_dim), int(w_dim)
        self.img_resolution = check_resolution(img_resolution, low=8, high=1024)
        self.img_channels = int(img_channels)
        self.mapping_kwargs = dict(mapping_kwargs or {})
        self.synthesis_kwargs = dict(synthesis_kwargs or {})
        self.synthesis = SynthesisNetwork(
            w_dim=self.w_dim, img_resolution=self.img_resolution, img_channels=self.img_channels,
            name="synthesis", **self.synthesis_kwargs,
        )
        self.num_ws = self.synthesis.num_ws
        self.mapping = MappingNetwork(
            z_dim=self.z_dim, c_dim=self.c_dim, w_dim=self.w_dim, num_ws=self.num_ws,
            name="mapping", **self.mapping_kwargs,
        )
        self.build()

    def build(self, input_shape=None):
        self.mapping.build()
        self.synthesis.build()

    def call(self, z, c=None, truncation_psi=1.0, truncation_cutoff=None, noise_mode=None,
             update_w_avg=None, training=None):
        ws = self.mapping(
            z, c, truncation_psi=truncation_psi, truncation_cutoff=truncation_cutoff,
            update_w_avg=update_w_avg, training=training,
        )
        if noise_mode is None:
            noise_mode = "random" if training else "const"
        return self.synthesis(ws, noise_mode=noise_mode)

    @staticmethod
    def mix_styles(ws_a, ws_b, cutoff):
        """Style mixing: layers `[0, cutoff)` from `ws_a`, the rest from `ws_b`.

        Example:
            >>> import numpy as np
            >>> a, b = np.zeros((1, 4, 2), "float32"), np.ones((1, 4, 2), "float32")
            >>> np.asarray(Generator.mix_styles(a, b, 1))[0, :, 0].tolist()
            [0.0, 1.0, 1.0, 1.0]
        """
        num_ws = ws_a.shape[1]
        if not 0 <= int(cutoff) <= num_ws:
            raise ValueError(f"cutoff must be in [0, {num_ws}], got {cutoff}")
        keep = (np.arange(num_ws) < int(cutoff))[None, :, None]
        return ops.where(keep, ws_a, ws_b)

    def get_config(self):
        config = super().get_config()
        config.update(
            z_dim=self.z_dim, c_dim=self.c_dim, w_dim=self.w_dim, img_resolution=self.img_resolution,
            img_channels=self.img_channels, mapping_kwargs=self.mapping_kwargs,
            synthesis_kwargs=self.synthesis_kwargs,
        )
        return config


# ----------------------------------------------------------------------------
# Discriminator.


@_register
class DiscriminatorBlock(keras.layers.Layer):
    """One resolution of the discriminator: [fromRGB,] conv0, conv1 (down 2), [skip].

    'resnet' adds a 1x1 FIR-downsampled skip; both branches carry gain
    sqrt(0.5) so their sum keeps unit variance. 'orig' has no skip.

    Example:
        >>> import numpy as np
        >>> block = DiscriminatorBlock(0, 8, 16, resolution=8, img_channels=3)
        >>> tuple(block(np.zeros((2, 8, 8, 3), "float32")).shape)
        (2, 4, 4, 16)
    """

    def __init__(
        self,
        in_channels,
        tmp_channels,
        out_channels,
        resolution,
        img_channels,
        architecture="resnet",
        activation="lrelu",
        resample_filter=(1, 3, 3, 1),
        conv_clamp=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if architecture not in ("resnet", "orig"):
            raise ValueError(f"discriminator architecture must be 'resnet' or 'orig', got {architecture!r}")
        self.in_channels, self.tmp_channels = int(in_channels), int(tmp_channels)
        self.out_channels, self.resolution = int(out_channels), int(resolution)
        self.img_channels, self.architecture, self.activation = int(img_channels), architecture, activation
        self.resample_filter = [float(v) for v in np.ravel(resample_filter)]
        self.conv_clamp = None if conv_clamp is None else float(conv_clamp)
        common = dict(activation=activation, conv_clamp=self.conv_clamp)
        t, o = self.tmp_channels, self.out_channels
        self.fromrgb = None
        if self.in_channels == 0:
            self.fromrgb = EqualizedConv2D(t, 1, in_channels=self.img_channels, name="fromrgb", **common)
        self.conv0 = EqualizedConv2D(t, 3, in_channels=t, name="conv0", **common)
        self.conv1 = EqualizedConv2D(
            o, 3, in_channels=t, down=2, resample_filter=self.resample_filter, name="conv1", **common
        )
        self.skip = None
        if architecture == "resnet":
            self.skip = EqualizedConv2D(
                o, 1, in_channels=t, use_bias=False, down=2, resample_filter=self.resample_filter, name="skip"
            )

    def build(self, input_shape=None):
        for layer in (self.fromrgb, self.conv0, self.conv1, self.skip):
            if layer is not None:
                layer.build()

    def call(self, x):
        if self.fromrgb is not None:
            x = self.fromrgb(x)
        if self.skip is not None:
            y = self.skip(x, gain=math.sqrt(0.5))
            x = self.conv1(self.conv0(x), gain=math.sqrt(0.5))
            return y + x
        return self.conv1(self.conv0(x))

    def get_config(self):
        config = super().get_config()
        config.update(
            in_channels=self.in_channels, tmp_channels=self.tmp_channels, out_channels=self.out_channels,
            resolution=self.resolution, img_channels=self.img_channels, architecture=self.architecture,
            activation=self.activation, resample_filter=self.resample_filter, conv_clamp=self.conv_clamp,
        )
        return config


@_register
class DiscriminatorEpilogue(keras.layers.Layer):
    """4x4 head: minibatch stddev, 3x3 conv, fc, out (+ projection on `cmap`).

    Example:
        >>> import numpy as np
        >>> head = DiscriminatorEpilogue(8, cmap_dim=0, resolution=4)
        >>> tuple(head(np.zeros((4, 4, 4, 8), "float32")).shape)
        (4, 1)
    """

    def __init__(
        self,
        in_channels,
        cmap_dim,
        resolution=4,
        mbstd_group_size=4,
        mbstd_num_channels=1,
        activation="lrelu",
        conv_clamp=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.in_channels, self.cmap_dim, self.resolution = int(in_channels), int(cmap_dim), int(resolution)
        self.mbstd_group_size = None if mbstd_group_size is None else int(mbstd_group_size)
        self.mbstd_num_channels, self.activation = int(mbstd_num_channels), activation
        self.conv_clamp = None if conv_clamp is None else float(conv_clamp)
        c = self.in_channels
        self.mbstd = None
        if self.mbstd_num_channels > 0:
            self.mbstd = MinibatchStdLayer(self.mbstd_group_size, self.mbstd_num_channels, name="mbstd")
        self.conv = EqualizedConv2D(
            c, 3, in_channels=c + self.mbstd_num_channels, activation=activation, conv_clamp=self.conv_clamp,
            name="conv",
        )
        self.fc = EqualizedDense(c, in_features=c * self.resolution**2, activation=activation, name="fc")
        self.out = EqualizedDense(self.cmap_dim or 1, in_features=c, name="out")

    def build(self, input_shape=None):
        if self.mbstd is not None:
            self.mbstd.build((None, self.resolution, self.resolution, self.in_channels))  # no weights
        self.conv.build()
        self.fc.build()
        self.out.build()

    def call(self, x, cmap=None):
        if self.mbstd is not None:
            x = self.mbstd(x)
        x = self.conv(x)
        x = self.out(self.fc(ops.reshape(x, (-1, self.in_channels * self.resolution**2))))
        if self.cmap_dim:
            x = ops.sum(x * cmap, axis=1, keepdims=True) * (1.0 / math.sqrt(self.cmap_dim))
        return x

    def get_config(self):
        config = super().get_config()
        config.update(
            in_channels=self.in_channels, cmap_dim=self.cmap_dim, resolution=self.resolution,
            mbstd_group_size=self.mbstd_group_size, mbstd_num_channels=self.mbstd_num_channels,
            activation=self.activation, conv_clamp=self.conv_clamp,
        )
        return config


@_register
class Discriminator(keras.Model):
    """StyleGAN2 discriminator (NVIDIA `Discriminator`): `D(img, c=None)` -> logits (N, 1).

    Blocks bR ... b8 halve the resolution; b4 is the epilogue. With
    `c_dim > 0` a mapping network embeds c to `cmap` (dim `cmap_dim`, default
    the 4x4 channel count) and the logit is the scaled inner product
    `<out(x), cmap> / sqrt(cmap_dim)` (projection discriminator).

    Example:
        >>> import numpy as np
        >>> D = Discriminator(c_dim=0, img_resolution=32, img_channels=3, channel_base=128, channel_max=16)
        >>> tuple(D(np.zeros((4, 32, 32, 3), "float32")).shape)
        (4, 1)
    """

    def __init__(
        self,
        c_dim=0,
        img_resolution=1024,
        img_channels=3,
        architecture="resnet",
        channel_base=32768,
        channel_max=512,
        conv_clamp=None,
        cmap_dim=None,
        mbstd_group_size=4,
        mbstd_num_channels=1,
        activation="lrelu",
        resample_filter=(1, 3, 3, 1),
        mapping_kwargs=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.c_dim = int(c_dim)
        self.img_resolution = check_resolution(img_resolution, low=8, high=1024)
        self.img_channels, self.architecture = int(img_channels), architecture
        self.channel_base, self.channel_max = int(channel_base), int(channel_max)
        self.conv_clamp = None if conv_clamp is None else float(conv_clamp)
        self.mbstd_group_size = None if mbstd_group_size is None else int(mbstd_group_size)
        self.mbstd_num_channels, self.activation = int(mbstd_num_channels), activation
        self.resample_filter = [float(v) for v in np.ravel(resample_filter)]
        self.mapping_kwargs = dict(mapping_kwargs or {})
        log2 = int(math.log2(self.img_resolution))
        self.block_resolutions = [2**i for i in range(log2, 2, -1)]
        channels = {r: channels_for(r, self.channel_base, self.channel_max) for r in self.block_resolutions + [4]}
        if min(channels.values()) < 1:
            raise ValueError(f"channel_base {channel_base} gives zero channels at {self.img_resolution}px")
        self.cmap_dim = 0 if self.c_dim == 0 else int(cmap_dim or channels[4])
        self._cmap_dim_arg = cmap_dim
        self.blocks = []
        for res in self.block_resolutions:
            block = DiscriminatorBlock(
                channels[res] if res < self.img_resolution else 0, channels[res], channels[res // 2],
                resolution=res, img_channels=self.img_channels, architecture=architecture, activation=activation,
                resample_filter=self.resample_filter, conv_clamp=self.conv_clamp, name=f"b{res}",
            )
            setattr(self, f"b{res}", block)
            self.blocks.append(block)
        self.mapping = None
        if self.c_dim:
            self.mapping = MappingNetwork(
                z_dim=0, c_dim=self.c_dim, w_dim=self.cmap_dim, num_ws=None, w_avg_beta=None,
                name="mapping", **self.mapping_kwargs,
            )
        self.b4 = DiscriminatorEpilogue(
            channels[4], self.cmap_dim, resolution=4, mbstd_group_size=self.mbstd_group_size,
            mbstd_num_channels=self.mbstd_num_channels, activation=activation, conv_clamp=self.conv_clamp, name="b4",
        )
        self.build()

    def build(self, input_shape=None):
        for block in self.blocks:
            block.build()
        if self.mapping is not None:
            self.mapping.build()
        self.b4.build()

    def call(self, img, c=None, training=None):
        r, ch = self.img_resolution, self.img_channels
        if len(img.shape) != 4 or tuple(img.shape[1:]) != (r, r, ch):
            raise ValueError(f"img must have shape (N, {r}, {r}, {ch}), got {tuple(img.shape)}")
        x = ops.cast(img, "float32")
        for block in self.blocks:
            x = block(x)
        cmap = None
        if self.c_dim:
            if c is None:
                raise ValueError(f"this discriminator is conditional: pass c with shape (N, {self.c_dim})")
            cmap = self.mapping(None, c)
        return self.b4(x, cmap)

    def get_config(self):
        config = super().get_config()
        config.update(
            c_dim=self.c_dim, img_resolution=self.img_resolution, img_channels=self.img_channels,
            architecture=self.architecture, channel_base=self.channel_base, channel_max=self.channel_max,
            conv_clamp=self.conv_clamp, cmap_dim=self._cmap_dim_arg, mbstd_group_size=self.mbstd_group_size,
            mbstd_num_channels=self.mbstd_num_channels, activation=self.activation,
            resample_filter=self.resample_filter, mapping_kwargs=self.mapping_kwargs,
        )
        return config


# ----------------------------------------------------------------------------
# Recipe builders (`model.generator.builder: stylegan2_generator`).


def _builder_spec(cfg, resolution):
    # No cfg: config F, the paper's networks (channel_base 32768, 8 mapping layers, mbstd 4, no clamp).
    return cfg_spec("f" if cfg is None else cfg, resolution)


@register("builder")
def stylegan2_generator(resolution, channels=3, z_dim=512, w_dim=512, c_dim=0, cfg=None, channel_base=None,
                        channel_max=512, mapping_layers=None, conv_clamp="cfg", name="generator"):
    """A StyleGAN2 `Generator` from recipe keys; `cfg` (e.g. 'paper256') fills unset ones.

    Unset keys come from `cfg_spec(cfg)`; without `cfg` that is config F
    (channel_base 32768, 8 mapping layers, no clamp). `c_dim > 0` makes it
    class-conditional: call `G(z, c)` or `G.mapping(z, c)` with `c` a float
    one-hot of shape (N, c_dim).

    Example:
        >>> G = stylegan2_generator(16, z_dim=16, w_dim=16, channel_base=64, channel_max=16, mapping_layers=2)
        >>> G.num_ws
        6
    """
    d = _builder_spec(cfg, resolution)
    return Generator(
        z_dim=z_dim, c_dim=c_dim, w_dim=w_dim, img_resolution=resolution, img_channels=channels,
        mapping_kwargs=dict(num_layers=int(mapping_layers or d["mapping_layers"])),
        synthesis_kwargs=dict(
            channel_base=int(channel_base or d["channel_base"]), channel_max=int(channel_max),
            conv_clamp=d["conv_clamp"] if conv_clamp == "cfg" else conv_clamp,
        ),
        name=name,
    )


@register("builder")
def stylegan2_discriminator(resolution, channels=3, c_dim=0, cfg=None, channel_base=None, channel_max=512,
                            mbstd_group_size=None, architecture=None, conv_clamp="cfg", name="discriminator"):
    """A StyleGAN2 `Discriminator` from recipe keys; `cfg` fills unset ones (default config F).

    `c_dim > 0` adds the projection conditioning: call `D(img, c)` with `c` a
    float one-hot of shape (N, c_dim); the output is logits (N, 1).

    Example:
        >>> D = stylegan2_discriminator(16, channel_base=64, channel_max=16, mbstd_group_size=2)
        >>> D.block_resolutions
        [16, 8]
    """
    d = _builder_spec(cfg, resolution)
    return Discriminator(
        c_dim=c_dim, img_resolution=resolution, img_channels=channels,
        architecture=architecture or d["d_architecture"],
        channel_base=int(channel_base or d["channel_base"]), channel_max=int(channel_max),
        conv_clamp=d["conv_clamp"] if conv_clamp == "cfg" else conv_clamp,
        mbstd_group_size=int(mbstd_group_size or d["mbstd_group_size"]), name=name,
    )

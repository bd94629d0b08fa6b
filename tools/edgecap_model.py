"""The edgecap captioner: a small CNN encoder, soft attention and an LSTMCell decoder.

The module satisfies docs/MODEL_CONTRACT.md: ``encode`` and ``step`` are exported TorchScript methods and
every state tensor has the batch (or beam) on dimension 0. ``forward`` is only used for training
(teacher forcing) and is not part of the contract.
"""
from dataclasses import asdict, dataclass, field
from typing import Dict, List, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor


@dataclass
class ModelConfig:
    vocab_size: int
    conv_channels: List[int] = field(default_factory=lambda: [16, 48, 96, 128, 192])
    conv_strides: List[int] = field(default_factory=lambda: [2, 2, 2, 2, 1])
    # per-block 3x3 dilation (padding = dilation); empty = all 1. densify() sets them.
    conv_dilations: List[int] = field(default_factory=list)
    embed_dim: int = 128
    attention_dim: int = 128
    decoder_dim: int = 256
    dropout: float = 0.3
    image_size: int = 128

    @property
    def encoder_dim(self) -> int:
        return self.conv_channels[-1]

    @property
    def dilations(self) -> List[int]:
        return list(self.conv_dilations) or [1] * len(self.conv_channels)

    @property
    def grid(self) -> int:
        size = self.image_size
        for s in self.conv_strides:
            size = (size + 2 * 1 - 3) // s + 1
        return size

    def to_dict(self) -> dict:
        return asdict(self)


def conv_block(cin: int, cout: int, stride: int, dilation: int = 1) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 3, stride, dilation, dilation=dilation, bias=False),
                         nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


class Captioner(nn.Module):
    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.cfg = cfg
        blocks = []
        cin = 3
        if len(cfg.dilations) != len(cfg.conv_channels):
            raise ValueError(f"conv_dilations {cfg.conv_dilations} do not match {len(cfg.conv_channels)} blocks")
        for cout, stride, dil in zip(cfg.conv_channels, cfg.conv_strides, cfg.dilations):
            blocks.append(conv_block(cin, cout, stride, dil))
            cin = cout
        self.encoder = nn.Sequential(*blocks)
        E, A, D, M = cfg.encoder_dim, cfg.attention_dim, cfg.decoder_dim, cfg.embed_dim
        self.enc_att = nn.Linear(E, A)
        self.dec_att = nn.Linear(D, A)
        self.full_att = nn.Linear(A, 1)
        self.init_h = nn.Linear(E, D)
        self.init_c = nn.Linear(E, D)
        self.f_beta = nn.Linear(D, E)
        self.embedding = nn.Embedding(cfg.vocab_size, M)
        self.lstm = nn.LSTMCell(M + E, D)
        self.dropout = nn.Dropout(cfg.dropout)
        self.fc = nn.Linear(D, cfg.vocab_size)

    # ---- contract -------------------------------------------------------------------------------
    @torch.jit.export
    def encode(self, image: Tensor) -> Dict[str, Tensor]:
        x = self.encoder(image)                            # [B, E, g, g]
        feats = x.flatten(2).transpose(1, 2).contiguous()  # [B, R, E]
        proj = self.enc_att(feats)                         # [B, R, A], done once per image
        mean = feats.mean(1)
        h = torch.tanh(self.init_h(mean))
        c = torch.tanh(self.init_c(mean))
        alpha = torch.zeros(feats.size(0), feats.size(1), dtype=feats.dtype, device=feats.device)
        return {"feats": feats, "proj": proj, "h": h, "c": c, "alpha": alpha}

    @torch.jit.export
    def step(self, tokens: Tensor, state: Dict[str, Tensor]) -> Tuple[Tensor, Dict[str, Tensor]]:
        feats = state["feats"]
        proj = state["proj"]
        logits, h, c, alpha = self._decode(self.embedding(tokens), feats, proj, state["h"], state["c"])
        new_state: Dict[str, Tensor] = {"feats": feats, "proj": proj, "h": h, "c": c, "alpha": alpha}
        return F.log_softmax(logits.float(), dim=1), new_state

    # ---- shared by step and training ------------------------------------------------------------
    def _decode(self, emb: Tensor, feats: Tensor, proj: Tensor, h: Tensor,
                c: Tensor) -> Tuple[Tensor, Tensor, Tensor, Tensor]:
        att = torch.tanh(proj + self.dec_att(h).unsqueeze(1))        # [B, R, A]
        alpha = F.softmax(self.full_att(att).squeeze(2), dim=1)      # [B, R]
        context = torch.bmm(alpha.unsqueeze(1), feats).squeeze(1)    # [B, E]
        context = torch.sigmoid(self.f_beta(h)) * context
        h, c = self.lstm(torch.cat([emb, context], dim=1), (h, c))
        logits = self.fc(self.dropout(h))
        return logits, h, c, alpha

    def forward(self, images: Tensor, tokens: Tensor) -> Tuple[Tensor, Tensor]:
        """Teacher forcing. tokens: [B, T] starting with <start>; returns logits [B, T-1, V] that predict
        tokens[:, 1:], and the attention weights [B, T-1, R]."""
        return self.teacher_forcing(self.encode(images), tokens)

    def teacher_forcing(self, state: Dict[str, Tensor], tokens: Tensor) -> Tuple[Tensor, Tensor]:
        feats, proj, h, c = state["feats"], state["proj"], state["h"], state["c"]
        emb = self.embedding(tokens)
        outs, alphas = [], []
        for t in range(tokens.size(1) - 1):
            logits, h, c, alpha = self._decode(emb[:, t], feats, proj, h, c)
            outs.append(logits)
            alphas.append(alpha)
        return torch.stack(outs, 1), torch.stack(alphas, 1)


# ---- deepening (Net2Net) ----------------------------------------------------------------------------
@torch.no_grad()
def deepen(model: Captioner, after: List[int], images: Tensor) -> Captioner:
    """A deeper copy of a trained model that computes the same function (Net2DeeperNet, Chen et al. 2016):
    after each encoder block listed in `after` (0-based) a stride-1 conv block with as many channels is
    inserted, its 3x3 conv the identity (Dirac) and its BatchNorm set to undo its own normalisation
    (running mean/var = the statistics of its input on `images`, weight = sqrt(var + eps), bias = mean),
    so in eval mode the new block passes its input through unchanged (the input is already >= 0, after a
    ReLU); training then uses the added depth. Every other tensor is copied."""
    cfg = model.cfg
    after = sorted(set(after))
    if any(i < 0 or i >= len(cfg.conv_channels) for i in after):
        raise ValueError(f"deepen: block indices {after} outside 0..{len(cfg.conv_channels) - 1}")
    layers = []  # (channels, stride, dilation, index of the trained block to copy or None for a new block)
    for i, (c, s, d) in enumerate(zip(cfg.conv_channels, cfg.conv_strides, cfg.dilations)):
        layers.append((c, s, d, i))
        if i in after:
            layers.append((c, 1, d, None))  # a Dirac conv is the identity at any dilation
    new_cfg = ModelConfig(**dict(cfg.to_dict(), conv_channels=[c for c, _, _, _ in layers],
                                 conv_strides=[s for _, s, _, _ in layers],
                                 conv_dilations=[d for _, _, d, _ in layers] if cfg.conv_dilations else []))
    new = Captioner(new_cfg)
    state = {k: v for k, v in model.state_dict().items() if not k.startswith("encoder.")}
    new.load_state_dict(state, strict=False)
    model = model.eval()
    x = images
    for block, (_, _, _, src) in zip(new.encoder, layers):
        if src is not None:
            block.load_state_dict(model.encoder[src].state_dict())
        else:
            conv, bn = block[0], block[1]
            nn.init.dirac_(conv.weight)
            mean, var = x.mean((0, 2, 3)), x.var((0, 2, 3), unbiased=False)
            bn.running_mean.copy_(mean)
            bn.running_var.copy_(var)
            bn.weight.copy_(torch.sqrt(var + bn.eps))
            bn.bias.copy_(mean)
        x = block.eval()(x)
    return new


# ---- widening (Net2Net) -----------------------------------------------------------------------------
@torch.no_grad()
def widen(model: Captioner, channels: List[int], seed: int = 0) -> Captioner:
    """A wider copy of a trained model that computes the same function (Net2WiderNet, Chen et al. 2016):
    encoder block i gets channels[i] >= its own output channels; each new channel copies the conv filter
    and BatchNorm of a randomly chosen existing one, and the next conv's weights on a channel and its copies
    are split between them in random fractions that sum to 1 per weight (so the copies start equal in
    function but receive different gradients). The last block keeps its width: it is the encoder
    dimension the attention and decoder read."""
    cfg = model.cfg
    old = list(cfg.conv_channels)
    if len(channels) != len(old) or any(n < o for n, o in zip(channels, old)) or channels[-1] != old[-1]:
        raise ValueError(f"widen: channels {channels} must match {len(old)} blocks, be >= {old} and keep "
                         f"the last ({old[-1]})")
    gen = torch.Generator().manual_seed(seed)
    new = Captioner(ModelConfig(**dict(cfg.to_dict(), conv_channels=list(channels))))
    state = {k: v for k, v in model.state_dict().items() if not k.startswith("encoder.")}
    new.load_state_dict(state, strict=False)
    src_in = torch.arange(3)  # for each input channel of the current block: the old channel it copies
    for i, (ob, nb) in enumerate(zip(model.encoder, new.encoder)):
        n_out, o_out = channels[i], old[i]
        src_out = torch.cat([torch.arange(o_out), torch.randint(0, o_out, (n_out - o_out,), generator=gen)])
        w = ob[0].weight[:, src_in]                        # [o_out, n_in, 3, 3], inputs copied
        # split each old input channel's weights among its copies: random positive fractions, sum 1
        frac = torch.rand(w.shape[0], len(src_in), generator=gen) + 0.5
        denom = torch.zeros(w.shape[0], int(src_in.max()) + 1).index_add_(1, src_in, frac)
        w = w * (frac / denom[:, src_in]).view(w.shape[0], -1, 1, 1)
        nb[0].weight.copy_(w[src_out])
        for name in ("weight", "bias", "running_mean", "running_var"):
            getattr(nb[1], name).copy_(getattr(ob[1], name)[src_out])
        src_in = src_out
    return new


# ---- densifying (a finer grid) ----------------------------------------------------------------------
@torch.no_grad()
def densify(model: Captioner, block: int) -> Captioner:
    """A copy of a trained model whose feature grid is twice as fine (the "a trous" conversion of
    DeepLab, Chen et al. 2015): encoder block `block` (0-based, a stride-2 block) gets stride 1 and every
    later block twice its dilation (and padding). The new grid at even positions is the old grid, exactly
    (zero padding included: a tap outside the old map is a tap outside the new one); the positions in
    between are new features computed by the same weights. Every tensor is copied unchanged; attention,
    initial state and decoder now see 4x as many regions, which training then adapts to."""
    cfg = model.cfg
    if not 0 <= block < len(cfg.conv_strides) or cfg.conv_strides[block] != 2:
        raise ValueError(f"densify: block {block} is not a stride-2 block (strides {cfg.conv_strides})")
    strides = list(cfg.conv_strides)
    strides[block] = 1
    dilations = [d * (2 if i > block else 1) for i, d in enumerate(cfg.dilations)]
    new = Captioner(ModelConfig(**dict(cfg.to_dict(), conv_strides=strides, conv_dilations=dilations)))
    new.load_state_dict(model.state_dict())
    return new


# ---- BatchNorm folding (export) ---------------------------------------------------------------------
def fold_batchnorm(model: Captioner) -> Captioner:
    """Return the model with every Conv+BN pair folded into one Conv with bias (eval semantics)."""
    model = model.eval()
    for block in model.encoder:
        conv, bn = block[0], block[1]
        if not isinstance(bn, nn.BatchNorm2d):
            continue
        scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)
        fused = nn.Conv2d(conv.in_channels, conv.out_channels, conv.kernel_size, conv.stride,
                          conv.padding, dilation=conv.dilation, bias=True)
        with torch.no_grad():
            fused.weight.copy_(conv.weight * scale.view(-1, 1, 1, 1))
            bias = conv.bias if conv.bias is not None else torch.zeros_like(bn.running_mean)
            fused.bias.copy_((bias - bn.running_mean) * scale + bn.bias)
        block[0] = fused
        block[1] = nn.Identity()
    return model


@torch.no_grad()
def unfold_batchnorm(folded: Captioner, images: Tensor) -> Captioner:
    """The inverse of fold_batchnorm: a Captioner with Conv (no bias) + BatchNorm blocks that computes, in
    eval mode, what the folded model computes. Each conv keeps the folded weights; its BatchNorm's running
    statistics are those of the conv's output on `images` (normalised training images), weight =
    sqrt(var + eps) and bias = mean + the folded bias, so eval mode gives conv(x) + bias and training mode
    (batch statistics) starts close to it. Training and pruning can then resume from an exported file."""
    folded = folded.eval()
    new = Captioner(folded.cfg)
    state = {k: v for k, v in folded.state_dict().items() if not k.startswith("encoder.")}
    new.load_state_dict(state, strict=False)
    x = images
    for fblock, block in zip(folded.encoder, new.encoder):
        fconv, conv, bn = fblock[0], block[0], block[1]
        if fconv.bias is None or not isinstance(fblock[1], nn.Identity):
            raise ValueError("unfold_batchnorm needs a BatchNorm-folded model (fold_batchnorm)")
        conv.weight.copy_(fconv.weight)
        z = F.conv2d(x, conv.weight, None, conv.stride, conv.padding, conv.dilation)
        mean, var = z.mean((0, 2, 3)), z.var((0, 2, 3), unbiased=False)
        bn.running_mean.copy_(mean)
        bn.running_var.copy_(var)
        bn.weight.copy_(torch.sqrt(var + bn.eps))
        bn.bias.copy_(mean + fconv.bias)
        x = fblock(x)
    return new.eval()



# ---- INT8 -------------------------------------------------------------------------------------------
INT8_ENGINE = "onednn"
INT8_DETAIL = ("static INT8 encoder (Conv+ReLU fused, per-channel weights, activations calibrated on "
               "training images), dynamic INT8 Linear and LSTMCell")


class QuantizeInput(nn.Module):
    """torch.quantize_per_tensor(x, scale, zero_point, quint8) for the encoder's input, written as float ops:
    LibTorch 1.13 without fbgemm quantizes with a scalar loop (175 us for a 3x128x128 image, 1 thread),
    these vectorize (56 us) and give the same bytes (x * (1 / scale) rounded half to even, then the zero
    point added, clamped to 0..255). Same buffers as torch.nn.quantized.Quantize, which it replaces after convert."""

    def __init__(self, scale: float, zero_point: int):
        super().__init__()
        self.register_buffer("scale", torch.tensor([scale]))
        self.register_buffer("zero_point", torch.tensor([zero_point], dtype=torch.long))

    def forward(self, x: Tensor) -> Tensor:
        scale = float(self.scale.item())
        zero_point = int(self.zero_point.item())
        q = torch.clamp(torch.round(x * (1.0 / scale)) + zero_point, 0.0, 255.0).to(torch.uint8)
        return torch._make_per_tensor_quantized_tensor(q, scale, zero_point)


def quantize_int8(folded: Captioner, calibration: Tensor, engine: str = INT8_ENGINE) -> nn.Module:
    """The INT8 model of a BatchNorm-folded FP32 Captioner: the convolutional encoder quantized statically
    (QuantizeInput -> fused Conv+ReLU blocks -> DeQuantize; observers fed `calibration`, normalised images
    [N, 3, H, W]) and every Linear and the LSTMCell quantized dynamically (int8 weights, activations
    quantized per call). Sets torch.backends.quantized.engine to `engine`: the packed weights belong to it."""
    import copy
    import torch.ao.quantization as tq
    torch.backends.quantized.engine = engine
    q = copy.deepcopy(folded).eval()
    blocks = list(q.encoder)
    for block in blocks:
        if not isinstance(block[1], nn.Identity):
            raise ValueError("quantize_int8 needs a BatchNorm-folded model (fold_batchnorm)")
        tq.fuse_modules(block, [["0", "2"]], inplace=True)
    q.encoder = nn.Sequential(tq.QuantStub(), *blocks, tq.DeQuantStub())
    q.encoder.qconfig = tq.get_default_qconfig(engine)
    tq.prepare(q.encoder, inplace=True)
    with torch.no_grad():
        for chunk in calibration.split(64):
            q.encoder(chunk)
    tq.convert(q.encoder, inplace=True)
    stub = q.encoder[0]
    q.encoder[0] = QuantizeInput(float(stub.scale), int(stub.zero_point))
    return tq.quantize_dynamic(q, {nn.Linear, nn.LSTMCell}, dtype=torch.qint8)


# ---- counting ---------------------------------------------------------------------------------------
def count_parameters(model: nn.Module) -> Tuple[int, int]:
    """(parameters, non-zero parameters). Works for eager float models."""
    total = nonzero = 0
    for p in model.parameters():
        total += p.numel()
        nonzero += int(torch.count_nonzero(p).item())
    return total, nonzero


def count_macs(cfg: ModelConfig, steps: int = 15) -> Dict[str, int]:
    """Multiply-accumulates of one caption: encode once plus `steps` decoder steps (batch 1).
    Counts conv, linear and LSTMCell products; element-wise ops and softmax are not counted."""
    size = cfg.image_size
    cin = 3
    conv = 0
    for cout, stride in zip(cfg.conv_channels, cfg.conv_strides):
        size = (size + 2 - 3) // stride + 1
        conv += cout * cin * 9 * size * size
        cin = cout
    R = size * size
    E, A, D, M, V = cfg.encoder_dim, cfg.attention_dim, cfg.decoder_dim, cfg.embed_dim, cfg.vocab_size
    encode_linear = R * E * A + 2 * E * D              # enc_att over regions, init_h, init_c
    step = (D * A + R * A                              # dec_att, full_att
            + R * E                                    # weighted sum of features
            + D * E                                    # f_beta gate
            + 4 * D * (M + E) + 4 * D * D              # LSTMCell
            + D * V)                                   # output layer
    return {"encode": conv + encode_linear, "step": step, "steps": steps,
            "total": conv + encode_linear + steps * step}


def copy_int8_weights(dst: nn.Module, src) -> None:
    """Give `dst` (an eager model from quantize_int8 of the same architecture) the weights of `src`, a
    loaded INT8 TorchScript file. ScriptModule.state_dict() holds plain tensors only, not the packed int8
    weights, so those are unpacked module by module."""
    import torch.nn.intrinsic.quantized as nniq
    import torch.nn.quantized as nnq
    import torch.nn.quantized.dynamic as nnqd
    plain = src.state_dict()
    own = dict(dst.named_parameters())
    own.update(dst.named_buffers())
    with torch.no_grad():
        for name, tensor in plain.items():
            if name not in own or own[name].shape != tensor.shape:
                raise ValueError(f"INT8 file and model differ at {name}")
            own[name].copy_(tensor)
    for name, mod in dst.named_modules():
        s = src
        for part in name.split(".") if name else []:
            s = getattr(s, part)
        if isinstance(mod, (nniq.ConvReLU2d, nnq.Conv2d)):
            mod.set_weight_bias(*torch.ops.quantized.conv2d_unpack(s._packed_params))
            mod.scale, mod.zero_point = float(s.scale), int(s.zero_point)
        elif isinstance(mod, nnqd.Linear):
            mod.set_weight_bias(*s._packed_params._weight_bias())
        elif isinstance(mod, nnqd.LSTMCell):
            mod._packed_weight_ih, mod._packed_weight_hh = s._packed_weight_ih, s._packed_weight_hh
            mod.bias_ih, mod.bias_hh = s.bias_ih, s.bias_hh

"""The ACT network (Action Chunking with Transformers), with LeRobot 0.4.4's module tree and parameter names.

Reads top to bottom: positional encodings, the ResNet-18 image backbone, the transformer encoder and decoder
layers, then :class:`ACT`, which ties them together. Everything here works in *normalised* units; normalising
and un-normalising belong to the policy (``policy.py``).

Conventions that make LeRobot's weights load and give LeRobot's numbers:
- tokens are sequence-first (N, B, D) inside the transformer and attention is ``nn.MultiheadAttention`` with
  ``batch_first=False``;
- positions are added to queries and keys in every layer, never to values or the residual stream;
- the decoder's input is zeros; its final LayerNorm is always applied (post-norm thus ends in two LNs);
- the VAE branch runs only in training mode with ``use_vae``; otherwise the latent is zero.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import Tensor, nn

from ding_lite.act.config import ACTConfig
from ding_lite.act.dropout import Dropout, dropout


# -- positional encodings -------------------------------------------------------------------------------------
def sinusoidal_positions_1d(n_positions: int, dim: int) -> Tensor:
    """(n_positions, dim): sin(p / 10000^(2(j//2)/dim)) on even j, cos on odd j; computed in float64, as float32."""
    pos = np.arange(n_positions, dtype=np.float64)[:, None]
    angles = pos / np.power(10000.0, 2 * (np.arange(dim) // 2) / dim)[None, :]
    table = np.where(np.arange(dim) % 2 == 0, np.sin(angles), np.cos(angles))
    return torch.from_numpy(table).float()


class SinusoidalPositionEmbedding2d(nn.Module):
    """Parameter-free 2-D positions of a (B, C, h, w) feature map: (1, 2*dimension, h, w), y half then x half.

    Positions are 1-based and scaled to (0, 2 pi]; channel c of each half is sin (even c) or cos (odd c) of the
    scaled position divided by 10000^(2(c//2)/dimension).
    """

    def __init__(self, dimension: int) -> None:
        super().__init__()
        self.dimension = dimension

    def _half(self, n: int, device: torch.device) -> Tensor:
        ramp = torch.arange(1, n + 1, dtype=torch.float32, device=device)
        scaled = ramp / (ramp[-1:] + 1e-6) * (2 * math.pi)  # divide first, then multiply (LeRobot's order)
        channel = torch.arange(self.dimension, dtype=torch.float32, device=device)
        angles = scaled[:, None] / 10000.0 ** (2 * (channel // 2) / self.dimension)
        return torch.where(channel.long() % 2 == 0, angles.sin(), angles.cos())  # (n, dimension)

    def forward(self, feature_map: Tensor) -> Tensor:
        h, w = feature_map.shape[-2:]
        y = self._half(h, feature_map.device)[:, None, :].expand(h, w, self.dimension)
        x = self._half(w, feature_map.device)[None, :, :].expand(h, w, self.dimension)
        return torch.cat([y, x], dim=-1).permute(2, 0, 1).unsqueeze(0)


# -- image backbone: torchvision's ResNet-18 names, frozen batch norm -----------------------------------------
class FrozenBatchNorm2d(nn.Module):
    """Batch norm with fixed statistics and affine terms, all buffers (no num_batches_tracked):
    y = x * s + (b - running_mean * s) with s = weight / sqrt(running_var + eps)."""

    weight: Tensor
    bias: Tensor
    running_mean: Tensor
    running_var: Tensor

    def __init__(self, n: int, eps: float = 1e-5) -> None:
        super().__init__()
        self.eps = eps
        self.register_buffer("weight", torch.ones(n))
        self.register_buffer("bias", torch.zeros(n))
        self.register_buffer("running_mean", torch.zeros(n))
        self.register_buffer("running_var", torch.ones(n))

    def forward(self, x: Tensor) -> Tensor:
        scale = self.weight * (self.running_var + self.eps).rsqrt()
        shift = self.bias - self.running_mean * scale
        return x * scale.reshape(1, -1, 1, 1) + shift.reshape(1, -1, 1, 1)


class BasicBlock(nn.Module):
    """Two 3x3 convolutions with a residual connection; ``downsample`` (1x1 conv + norm) when the shape changes."""

    def __init__(self, in_channels: int, channels: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, channels, 3, stride=stride, padding=1, bias=False)
        self.bn1 = FrozenBatchNorm2d(channels)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1, bias=False)
        self.bn2 = FrozenBatchNorm2d(channels)
        self.downsample: nn.Module | None = None
        if stride != 1 or in_channels != channels:
            conv = nn.Conv2d(in_channels, channels, 1, stride=stride, bias=False)
            self.downsample = nn.Sequential(conv, FrozenBatchNorm2d(channels))

    def forward(self, x: Tensor) -> Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        identity = x if self.downsample is None else self.downsample(x)
        return self.relu(out + identity)


class ResNet18Backbone(nn.Module):
    """ResNet-18 up to layer4 (no avgpool, no fc): normalised (B, 3, H, W) images -> (B, 512, H/32, W/32) features.

    Random (torchvision) init; real weights come from a checkpoint, nothing is downloaded.
    """

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 64, 7, stride=2, padding=3, bias=False)
        self.bn1 = FrozenBatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, stride=2, padding=1)
        self.layer1 = nn.Sequential(BasicBlock(64, 64, 1), BasicBlock(64, 64, 1))
        self.layer2 = nn.Sequential(BasicBlock(64, 128, 2), BasicBlock(128, 128, 1))
        self.layer3 = nn.Sequential(BasicBlock(128, 256, 2), BasicBlock(256, 256, 1))
        self.layer4 = nn.Sequential(BasicBlock(256, 512, 2), BasicBlock(512, 512, 1))
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")

    def forward(self, x: Tensor) -> Tensor:
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        return self.layer4(self.layer3(self.layer2(self.layer1(x))))


# -- transformer ----------------------------------------------------------------------------------------------
def attend(
    mha: nn.MultiheadAttention,
    query: Tensor,
    key: Tensor,
    value: Tensor,
    key_padding_mask: Tensor | None = None,
    batch: int | None = None,
) -> Tensor:
    """``mha(query, key, value, key_padding_mask)[0]`` for sequence-first (L, B, D) tokens, from the module's own
    parameters: queries and keys that are one tensor are projected by one matrix product, and the attention is
    ``scaled_dot_product_attention`` (no per-head weights are formed for the caller).

    Tokens with batch size 1 broadcast against the others. ``batch`` is the real batch size when every input has
    batch size 1 (the decoder's first self-attention, the same for every row): the attention weights' dropout is
    then still drawn per row, so the output has ``batch`` rows in training and 1 in eval mode."""
    dim, heads = mha.embed_dim, mha.num_heads
    weight, bias = mha.in_proj_weight, mha.in_proj_bias
    if query is key:
        q, k = nn.functional.linear(query, weight[: 2 * dim], bias[: 2 * dim]).chunk(2, dim=-1)
    else:
        q = nn.functional.linear(query, weight[:dim], bias[:dim])
        k = nn.functional.linear(key, weight[dim : 2 * dim], bias[dim : 2 * dim])
    v = nn.functional.linear(value, weight[2 * dim :], bias[2 * dim :])

    def heads_first(t: Tensor) -> Tensor:  # (L, B, D) -> (B, H, L, D/H)
        return t.reshape(t.shape[0], t.shape[1], heads, dim // heads).permute(1, 2, 0, 3)

    q, k, v = heads_first(q), heads_first(k), heads_first(v)
    if mha.training and mha.dropout > 0:  # the weights' dropout drawn by ding_lite.act.dropout
        scores = q @ k.transpose(-2, -1) * (dim // heads) ** -0.5
        if key_padding_mask is not None:
            scores = scores.masked_fill(key_padding_mask[:, None, None, :], float("-inf"))
        weights = scores.softmax(dim=-1)
        if batch is not None and weights.shape[0] != batch:
            weights = weights.expand(batch, -1, -1, -1)
        out = dropout(weights, mha.dropout) @ v
    else:
        if q.shape[0] != k.shape[0]:
            q = q.expand(k.shape[0], -1, -1, -1)
        mask = None if key_padding_mask is None else ~key_padding_mask[:, None, None, :]  # True = may attend
        out = nn.functional.scaled_dot_product_attention(q, k, v, mask)
    out = out.permute(2, 0, 1, 3).reshape(query.shape[0], out.shape[0], dim)
    return mha.out_proj(out)


def _activation(name: str) -> nn.Module:
    return nn.GELU() if name == "gelu" else nn.ReLU()


class EncoderLayer(nn.Module):
    """Self-attention + feed-forward, post-norm (default) or pre-norm; positions added to queries and keys."""

    def __init__(self, cfg: ACTConfig) -> None:
        super().__init__()
        self.self_attn = nn.MultiheadAttention(cfg.dim_model, cfg.n_heads, dropout=cfg.dropout)
        self.linear1 = nn.Linear(cfg.dim_model, cfg.dim_feedforward)
        self.dropout = Dropout(cfg.dropout)
        self.linear2 = nn.Linear(cfg.dim_feedforward, cfg.dim_model)
        self.norm1 = nn.LayerNorm(cfg.dim_model)
        self.norm2 = nn.LayerNorm(cfg.dim_model)
        self.dropout1 = Dropout(cfg.dropout)
        self.dropout2 = Dropout(cfg.dropout)
        self.activation = _activation(cfg.feedforward_activation)
        self.pre_norm = cfg.pre_norm

    def forward(self, x: Tensor, pos: Tensor, key_padding_mask: Tensor | None = None, first_only: bool = False
                ) -> Tensor:  # fmt: skip
        """(L, B, D) -> (L, B, D); with ``first_only``, (1, B, D): only the first token's output, which attends to
        every token as usual (every later step is per token, so the other rows would be thrown away)."""
        u = self.norm1(x) if self.pre_norm else x
        qk = u + pos
        if first_only:
            attended = attend(self.self_attn, qk[:1], qk, u, key_padding_mask)
            x = x[:1]
        else:
            attended = attend(self.self_attn, qk, qk, u, key_padding_mask)
        x = x + self.dropout1(attended)
        if not self.pre_norm:
            x = self.norm1(x)
        u = self.norm2(x) if self.pre_norm else x
        x = x + self.dropout2(self.linear2(self.dropout(self.activation(self.linear1(u)))))
        return x if self.pre_norm else self.norm2(x)


class Encoder(nn.Module):
    """A stack of encoder layers; a final LayerNorm only in pre-norm mode."""

    def __init__(self, cfg: ACTConfig, n_layers: int) -> None:
        super().__init__()
        self.layers = nn.ModuleList(EncoderLayer(cfg) for _ in range(n_layers))
        self.norm: nn.Module = nn.LayerNorm(cfg.dim_model) if cfg.pre_norm else nn.Identity()

    def forward(self, x: Tensor, pos: Tensor, key_padding_mask: Tensor | None = None, first_only: bool = False
                ) -> Tensor:  # fmt: skip
        """Every token's output, or with ``first_only`` the first token's alone, (1, B, D)."""
        for i, layer in enumerate(self.layers):
            x = layer(x, pos, key_padding_mask, first_only=first_only and i == len(self.layers) - 1)
        return self.norm(x)


class DecoderLayer(nn.Module):
    """Self-attention over the action queries, cross-attention to the encoder output, feed-forward."""

    def __init__(self, cfg: ACTConfig) -> None:
        super().__init__()
        self.self_attn = nn.MultiheadAttention(cfg.dim_model, cfg.n_heads, dropout=cfg.dropout)
        self.multihead_attn = nn.MultiheadAttention(cfg.dim_model, cfg.n_heads, dropout=cfg.dropout)
        self.linear1 = nn.Linear(cfg.dim_model, cfg.dim_feedforward)
        self.dropout = Dropout(cfg.dropout)
        self.linear2 = nn.Linear(cfg.dim_feedforward, cfg.dim_model)
        self.norm1 = nn.LayerNorm(cfg.dim_model)
        self.norm2 = nn.LayerNorm(cfg.dim_model)
        self.norm3 = nn.LayerNorm(cfg.dim_model)
        self.dropout1 = Dropout(cfg.dropout)
        self.dropout2 = Dropout(cfg.dropout)
        self.dropout3 = Dropout(cfg.dropout)
        self.activation = _activation(cfg.feedforward_activation)
        self.pre_norm = cfg.pre_norm

    def forward(self, y: Tensor, memory: Tensor, query_pos: Tensor, memory_pos: Tensor) -> Tensor:
        u = self.norm1(y) if self.pre_norm else y
        qk = u + query_pos
        y = y + self.dropout1(attend(self.self_attn, qk, qk, u, batch=memory.shape[1]))
        if not self.pre_norm:
            y = self.norm1(y)
        u = self.norm2(y) if self.pre_norm else y
        y = y + self.dropout2(attend(self.multihead_attn, u + query_pos, memory + memory_pos, memory))
        if not self.pre_norm:
            y = self.norm2(y)
        u = self.norm3(y) if self.pre_norm else y
        y = y + self.dropout3(self.linear2(self.dropout(self.activation(self.linear1(u)))))
        return y if self.pre_norm else self.norm3(y)


class Decoder(nn.Module):
    """A stack of decoder layers, always followed by a LayerNorm."""

    def __init__(self, cfg: ACTConfig) -> None:
        super().__init__()
        self.layers = nn.ModuleList(DecoderLayer(cfg) for _ in range(cfg.n_decoder_layers))
        self.norm = nn.LayerNorm(cfg.dim_model)

    def forward(self, y: Tensor, memory: Tensor, query_pos: Tensor, memory_pos: Tensor) -> Tensor:
        for layer in self.layers:
            y = layer(y, memory, query_pos, memory_pos)
        return self.norm(y)


LatentParams = tuple[Tensor | None, Tensor | None]


class ACT(nn.Module):
    """The whole network. ``forward`` maps normalised inputs to a normalised (B, chunk_size, A) action chunk and
    the latent's (mu, log sigma^2), which are (None, None) when the VAE branch did not run."""

    vae_encoder_pos_enc: Tensor

    def __init__(self, cfg: ACTConfig) -> None:
        super().__init__()
        cfg.validate_features()
        self.config = cfg
        dim = cfg.dim_model
        state, env = cfg.robot_state_feature, cfg.env_state_feature
        action_dim = cfg.action_feature.shape[0]
        if cfg.use_vae:
            self.vae_encoder = Encoder(cfg, cfg.n_vae_encoder_layers)
            self.vae_encoder_cls_embed = nn.Embedding(1, dim)
            if state is not None:
                self.vae_encoder_robot_state_input_proj = nn.Linear(state.shape[0], dim)
            self.vae_encoder_action_input_proj = nn.Linear(action_dim, dim)
            self.vae_encoder_latent_output_proj = nn.Linear(dim, 2 * cfg.latent_dim)
            n_vae_tokens = 1 + cfg.chunk_size + (state is not None)
            self.register_buffer("vae_encoder_pos_enc", sinusoidal_positions_1d(n_vae_tokens, dim).unsqueeze(0))
        if cfg.image_features:
            self.backbone = ResNet18Backbone()
        self.encoder = Encoder(cfg, cfg.n_encoder_layers)
        self.decoder = Decoder(cfg)
        if state is not None:
            self.encoder_robot_state_input_proj = nn.Linear(state.shape[0], dim)
        if env is not None:
            self.encoder_env_state_input_proj = nn.Linear(env.shape[0], dim)
        self.encoder_latent_input_proj = nn.Linear(cfg.latent_dim, dim)
        if cfg.image_features:
            self.encoder_img_feat_input_proj = nn.Conv2d(512, dim, kernel_size=1)
        self.encoder_1d_feature_pos_embed = nn.Embedding(1 + (state is not None) + (env is not None), dim)
        if cfg.image_features:
            self.encoder_cam_feat_pos_embed = SinusoidalPositionEmbedding2d(dim // 2)
        self.decoder_pos_embed = nn.Embedding(cfg.chunk_size, dim)
        self.action_head = nn.Linear(dim, action_dim)
        for p in [*self.encoder.parameters(), *self.decoder.parameters()]:
            if p.dim() > 1:
                nn.init.xavier_uniform_(p)

    def encode_latent(self, state: Tensor | None, action: Tensor, action_is_pad: Tensor) -> tuple[Tensor, Tensor]:
        """The VAE encoder: (mu, log sigma^2), each (B, latent_dim), from the tokens [cls, state, actions], with the
        padded actions masked as keys."""
        batch = action.shape[0]
        tokens = [self.vae_encoder_cls_embed.weight.expand(batch, 1, -1)]
        if state is not None:
            tokens.append(self.vae_encoder_robot_state_input_proj(state).unsqueeze(1))
        tokens.append(self.vae_encoder_action_input_proj(action))
        x = torch.cat(tokens, dim=1).transpose(0, 1)  # (1 + [1] + C, B, D)
        n_unmasked = len(tokens) - 1
        mask = torch.cat([torch.zeros(batch, n_unmasked, dtype=torch.bool, device=action.device), action_is_pad], dim=1)
        pos = self.vae_encoder_pos_enc.transpose(0, 1)
        cls_out = self.vae_encoder(x, pos, key_padding_mask=mask, first_only=True)[0]
        params = self.vae_encoder_latent_output_proj(cls_out)
        return params[:, : self.config.latent_dim], params[:, self.config.latent_dim :]

    def forward(
        self,
        state: Tensor | None,
        env_state: Tensor | None,
        images: list[Tensor],
        action: Tensor | None = None,
        action_is_pad: Tensor | None = None,
    ) -> tuple[Tensor, LatentParams]:
        cfg = self.config
        first = images[0] if images else env_state if env_state is not None else state
        assert first is not None, "ACT needs a camera or the environment state"
        batch, device = first.shape[0], first.device
        mu = log_sigma_x2 = None
        if cfg.use_vae and self.training:
            assert action is not None and action_is_pad is not None, "training ACT with the VAE needs the action chunk"
            mu, log_sigma_x2 = self.encode_latent(state, action, action_is_pad)
            latent = mu + (log_sigma_x2 / 2).exp() * torch.randn_like(mu)
        else:
            latent = torch.zeros(batch, cfg.latent_dim, dtype=torch.float32, device=device)

        tokens = [self.encoder_latent_input_proj(latent)]  # each (B, D)
        if state is not None and cfg.robot_state_feature is not None:
            tokens.append(self.encoder_robot_state_input_proj(state))
        if env_state is not None and cfg.env_state_feature is not None:
            tokens.append(self.encoder_env_state_input_proj(env_state))
        x = torch.stack(tokens, dim=0)  # (n_1d, B, D)
        pos = self.encoder_1d_feature_pos_embed.weight.unsqueeze(1)  # (n_1d, 1, D)
        for image in images:
            feature_map = self.backbone(image)
            cam_pos = self.encoder_cam_feat_pos_embed(feature_map).to(feature_map.dtype)
            cam_tokens = self.encoder_img_feat_input_proj(feature_map)
            x = torch.cat([x, cam_tokens.flatten(2).permute(2, 0, 1)], dim=0)  # row-major: token i * w + j
            pos = torch.cat([pos, cam_pos.flatten(2).permute(2, 0, 1)], dim=0)

        memory = self.encoder(x, pos)
        # the decoder's input: zeros, the same for every row, so its first self-attention is computed once (batch 1)
        queries = torch.zeros(cfg.chunk_size, 1, cfg.dim_model, dtype=pos.dtype, device=pos.device)
        y = self.decoder(queries, memory, self.decoder_pos_embed.weight.unsqueeze(1), pos)
        return self.action_head(y.transpose(0, 1)), (mu, log_sigma_x2)

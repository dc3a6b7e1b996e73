"""The blend generator: a conditional VAE over sines+noise codes (`codec.py`).

Condition = labels (drum type and tags, multi-hot; a recipe makes it soft) +
descriptors (brightness, decay, attack, pitch as z-scores). The encoder sees the
code and the condition, so the latent only has to hold what the condition does
not say; the decoder is steered by the condition through FiLM at every scale.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn

from .audio import first_line
from .library import ModelError, shell
from .codec import AMP, CODEC, FREQ, CodecConfig, band_centres, band_power, envelope_db, tilt

# Descriptors the generator is conditioned on, and the `features.DESCRIPTORS` they come from.
CONTROLS = ("brightness", "decay", "attack", "pitch")


@dataclass
class VAEConfig:
    labels: list[str] = field(default_factory=list)   # condition vocabulary: drum types, then tags
    codec: dict = field(default_factory=lambda: CodecConfig().to_dict())
    latent: int = 16          # size of z
    width: int = 128          # channels of the conv stacks
    hidden: int = 256         # MLP width between the conv stacks and z
    # z-scoring of the CONTROLS (log units), measured on the training set
    control_mean: list[float] = field(default_factory=lambda: [0.0] * len(CONTROLS))
    control_std: list[float] = field(default_factory=lambda: [1.0] * len(CONTROLS))
    # log_centroid of a code -> measured log centroid of its audio: a * x + b, fitted
    # on the training hits (models saved before it was stored read [1, 0]: close enough
    # for the differences generation uses it for)
    brightness_fit: list[float] = field(default_factory=lambda: [1.0, 0.0])
    gate_db: float = -60.0    # generated noise bands quieter than this are silenced (codec.gate)
    # conditions carry a "has a body tone" column (1 / 0, soft in blends) before the controls;
    # without it a toneless hat's pitch read "typical" (z 0), the same as a tone at the mean
    # pitch, and the decoder gave hats a faint 190 Hz tone (models saved before: False)
    tone: bool = False

    @property
    def codec_cfg(self) -> CodecConfig:
        return CodecConfig(**self.codec)

    @property
    def cond_dim(self) -> int:
        return len(self.labels) + int(self.tone) + len(CONTROLS)

    def to_dict(self) -> dict:
        return asdict(self)


def scale_code(code: torch.Tensor, floor_db: float) -> torch.Tensor:
    """Codes in dB / log2 Hz -> roughly unit-range network targets (same shape)."""
    x = code.clone()
    x[:, :FREQ] = (code[:, :FREQ].clamp(min=floor_db) + 50) / 25  # noise and sine dB -> about -2..2
    # the FREQ row, log2(f/100), is already -1.7..3.3
    return x


def unscale_code(x: torch.Tensor, floor_db: float) -> torch.Tensor:
    """Inverse of scale_code."""
    code = x.clone()
    code[:, :FREQ] = (x[:, :FREQ] * 25 - 50).clamp(min=floor_db)
    return code


class FiLMBlock(nn.Module):
    """Condition-modulated residual conv block; a 1x1 conv adapts the width."""

    def __init__(self, w_in: int, w_out: int, cond_dim: int):
        super().__init__()
        self.proj = nn.Conv1d(w_in, w_out, 1) if w_in != w_out else nn.Identity()
        self.conv = nn.Conv1d(w_out, w_out, 5, padding=2)
        self.film = nn.Linear(cond_dim, 2 * w_out)

    def forward(self, h: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        # h: (B, w_in, T), c: (B, cond_dim) -> (B, w_out, T)
        h = self.proj(h)
        g, b = self.film(c).unsqueeze(-1).chunk(2, dim=1)
        return h + self.conv(nn.functional.gelu(h * (1 + g) + b))


class BlendVAE(nn.Module):
    def __init__(self, cfg: VAEConfig):
        super().__init__()
        self.cfg = cfg
        cc = cfg.codec_cfg
        C, W, D = cc.channels, cfg.width, cfg.cond_dim
        w2 = W // 2                                           # narrower at full time resolution
        self.frames = cc.frames
        self.t_low = -(-cc.frames // 8)                       # frames after three stride-2 steps
        self.enc = nn.Sequential(
            nn.Conv1d(C, w2, 5, padding=2), nn.GELU(),
            nn.Conv1d(w2, w2, 4, stride=2, padding=1), nn.GELU(),
            nn.Conv1d(w2, W, 4, stride=2, padding=1), nn.GELU(),
            nn.Conv1d(W, W, 4, stride=2, padding=1), nn.GELU(),
        )
        self.enc_head = nn.Sequential(nn.Linear(W * self.t_low + D, cfg.hidden), nn.GELU(),
                                      nn.Linear(cfg.hidden, 2 * cfg.latent))
        self.dec_in = nn.Sequential(nn.Linear(cfg.latent + D, cfg.hidden), nn.GELU(),
                                    nn.Linear(cfg.hidden, W * self.t_low))
        widths = [W, W, W, w2, w2]                            # at t_low, x2, x4, x8, x8
        self.dec = nn.ModuleList([FiLMBlock(a, b, D) for a, b in zip(widths[:-1], widths[1:])])
        self.dec_out = nn.Conv1d(w2, C, 5, padding=2)

    def encode(self, x: torch.Tensor, c: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Scaled codes (B, C, frames) + conditions (B, D) -> mu, logvar (B, latent)."""
        pad = self.t_low * 8 - x.shape[-1]
        h = self.enc(nn.functional.pad(x, (0, pad)))          # (B, W, t_low)
        mu, logvar = self.enc_head(torch.cat([h.flatten(1), c], 1)).chunk(2, dim=1)
        return mu, logvar.clamp(-12, 6)

    def decode(self, z: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        """(B, latent) + (B, D) -> scaled codes (B, C, frames)."""
        h = self.dec_in(torch.cat([z, c], 1)).view(z.shape[0], self.cfg.width, self.t_low)
        for i, block in enumerate(self.dec):
            if 0 < i < 4:
                h = nn.functional.interpolate(h, scale_factor=2, mode="linear", align_corners=False)
            h = block(h, c)                                    # (B, width_i, t_low * 2**min(i, 3))
        return self.dec_out(nn.functional.gelu(h))[..., : self.frames]

    def forward(self, x: torch.Tensor, c: torch.Tensor):
        mu, logvar = self.encode(x, c)
        z = mu + torch.randn_like(mu) * torch.exp(0.5 * logvar)
        return self.decode(z, c), mu, logvar


class CodeCritic(nn.Module):
    """A small drum-type classifier over scaled codes, trained beside the VAE on
    real hits only. It judges what the decoder makes from prior samples, so a
    "snare" condition cannot drift into kick territory (the weak class
    conditioning of earlier neural drum machines)."""

    def __init__(self, channels: int, n_types: int, width: int = 64):
        super().__init__()
        self.body = nn.Sequential(nn.Conv1d(channels, width, 5, stride=2, padding=2), nn.GELU(),
                                  nn.Conv1d(width, width, 5, stride=2, padding=2), nn.GELU())
        self.head = nn.Linear(2 * width, n_types)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.body(x)                                       # (B, width, T/4)
        return self.head(torch.cat([h.mean(-1), h.amax(-1)], 1))  # (B, n_types)


def save(model: BlendVAE, path: str | Path, extra: dict | None = None,
         tensors: dict[str, torch.Tensor] | None = None) -> None:
    """safetensors weights with the config (and any extra JSON) in its metadata, atomically.
    `tensors` are stored beside the weights under their own names (e.g. "data.labels")."""
    from safetensors.torch import save
    from .library import atomic_write_bytes, atomic_write_json
    meta = {"config": json.dumps(model.cfg.to_dict()), "extra": json.dumps(extra or {})}
    state = {f"model.{k}": v.detach().contiguous() for k, v in model.state_dict().items()}
    state.update({k: v.detach().contiguous() for k, v in (tensors or {}).items()})
    atomic_write_bytes(Path(path), save(state, metadata=meta))
    atomic_write_json(Path(path).with_suffix(".json"), {"config": model.cfg.to_dict(), **(extra or {})})


def load(path: str | Path) -> tuple[BlendVAE, dict, dict[str, torch.Tensor]]:
    """A saved BlendVAE (eval mode), its extra metadata and its other tensors."""
    return load_hashed(path)[:3]


def load_hashed(path: str | Path) -> tuple[BlendVAE, dict, dict[str, torch.Tensor], str]:
    """`load`, and the hash (`model_hash`) of the very bytes it was built from: the file read
    once, so that a `train vae` replacing it meanwhile cannot pair one model's weights with
    another's hash (a hit's sidecar then named a model that did not make it, and a second run
    wrote over its hits in place rather than beside them)."""
    from safetensors.torch import load as from_bytes
    from .library import bytes_hash
    path = Path(path)
    if not path.exists():
        ws = path.parent.parent
        first = "" if (ws / "library.json").exists() else f"`drummy ingest FOLDER -w {shell(ws)}`, then "
        raise ModelError(f"no blend model at {path}; run {first}`drummy train vae -w {shell(ws)}` first")
    try:
        data = path.read_bytes()
        state = from_bytes(data)
        head = int.from_bytes(data[:8], "little")                      # safetensors: u64 length, then JSON
        meta = json.loads(data[8:8 + head]).get("__metadata__") or {}
        model = BlendVAE(VAEConfig(**json.loads(meta["config"])))
        model.load_state_dict({k[6:]: v for k, v in state.items() if k.startswith("model.")})
    except Exception as e:  # a corrupt or foreign file
        raise ModelError(f"cannot load blend model {path} ({first_line(e)}); "
                         f"run `drummy train vae -w {shell(path.parent.parent)}` again") from e
    return (model.eval(), json.loads(meta.get("extra", "{}")),
            {k: v for k, v in state.items() if not k.startswith("model.")}, bytes_hash(data))


def model_hash(path: str | Path) -> str:
    """Short content hash of a saved model, written into every sidecar."""
    from .library import file_hash
    return file_hash(path)


def kl(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(q(z|x) || N(0, I)) per latent dimension: (B, latent)."""
    return 0.5 * (mu ** 2 + logvar.exp() - 1 - logvar)


def recon_error(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Squared error per hit (B,), summed over the code. The sine's frequency only
    counts where the sine is audible (weighted by its scaled amplitude)."""
    err = (pred - target) ** 2                               # (B, C, T)
    tone = ((target[:, AMP] + 2) / 4).clamp(0, 1)           # 0 at the floor .. 1 near 0 dB
    err[:, FREQ] = err[:, FREQ] * tone * 4
    return err.sum((1, 2))


def log_centroid(code: torch.Tensor, cfg: CodecConfig = CODEC) -> torch.Tensor:
    """A differentiable brightness of codes in dB / log2 Hz (B, C, T) -> (B,): the log
    of the energy-weighted mean frequency of the noise bands (power per bin x band
    width) and the body sine. On real hits it tracks the log spectral centroid that
    `controls` measures from audio (correlation 0.999 on the benchmark library)."""
    f = torch.tensor(band_centres(cfg), dtype=code.dtype)
    # a decoder early in training can put out anything: bounded, its powers stay finite
    noise, sine = band_power(code.clamp(max=60.0), cfg)                    # (B, bands, T), (B, T)
    sine_f = 100 * 2 ** code[:, FREQ].clamp(-4.0, 8.0)                     # 6 Hz .. 25.6 kHz
    num = (noise * f[None, :, None]).sum((1, 2)) + (sine * sine_f).sum(1)
    return torch.log(num / (noise.sum((1, 2)) + sine.sum(1)))


@torch.no_grad()
def steer_brightness(code: torch.Tensor, target: torch.Tensor, cfg: CodecConfig = CODEC,
                     max_tilt: float = 6.0, steps: int = 25, tail_db: float = -60.0) -> torch.Tensor:
    """Codes (B, C, T) tilted (codec.tilt about each hit's own centroid, at most
    max_tilt dB/octave) so that their log_centroid lands as near as the grid
    allows to target (B,), with each frame's noise power kept (the envelope does not
    move), and no longer than they were: their noise is silent
    from the frame where their level stays tail_db below its peak. Pivoting on the
    centroid makes a positive tilt always brighten: for a kick it lifts the click
    over the sub, for a hat the sizzle."""
    B = code.shape[0]
    tilts = torch.linspace(-max_tilt, max_tilt, steps)                                 # (K,)
    pivot = torch.exp(log_centroid(code, cfg)).repeat_interleave(steps)                 # (B*K,) Hz
    before = code.repeat_interleave(steps, 0)                                           # (B*K, C, T)
    trial = tilt(before, tilts.repeat(B), cfg, pivot)
    # An EQ moves a hit's colour, not its envelope: each frame's noise keeps its power.
    # Tilted alone, a darker hat's low-rich tail rose against its bright attack, and
    # one in 7 hats asked for --brightness -1 rang past 400 ms.
    level = band_power(before, cfg)[0].sum(1, keepdim=True) / band_power(trial, cfg)[0].sum(1, keepdim=True)
    trial[:, : cfg.bands] += 10 * torch.log10(level)                                    # (B*K, 1, T) dB
    best = (log_centroid(trial, cfg).view(B, steps) - target[:, None]).abs().argmin(1)  # (B,)
    out = trial.view(B, steps, *code.shape[1:])[torch.arange(B), best]
    # An EQ does not make a hit longer: a darker hat's tilt lifted the faint hiss after
    # it had ended into a 1 s tail, so the noise stays silent past the untilted hit's end.
    env = envelope_db(code, cfg)                                                        # (B, T)
    ended = torch.cummin((env < env.amax(1, keepdim=True) + tail_db).flip(1).long(), 1)[0].flip(1).bool()
    out[:, : cfg.bands] = torch.where(ended[:, None], torch.full_like(out[:, : cfg.bands], cfg.floor_db),
                                      out[:, : cfg.bands])
    return out


def sample_labels(drum_type: str, tags: list[str]) -> list[str]:
    """The condition labels of one library sample: its type (unless unknown) and tags."""
    from .labels import UNKNOWN
    return ([drum_type] if drum_type != UNKNOWN else []) + list(tags)


def vocabulary(label_sets: list[list[str]], min_count: int = 3) -> list[str]:
    """Condition labels: every drum type present, then tags on at least min_count samples."""
    from .labels import TYPES
    counts: dict[str, int] = {}
    for ls in label_sets:
        for lab in set(ls):
            counts[lab] = counts.get(lab, 0) + 1
    types = [t for t in TYPES if t in counts]
    tags = sorted((t for t, n in counts.items() if t not in TYPES and n >= min_count), key=lambda t: (-counts[t], t))
    return types + tags


def multi_hot(label_sets: list[list[str]], vocab: list[str]) -> np.ndarray:
    """(N, len(vocab)) float32, 1 where a sample carries the label."""
    index = {lab: i for i, lab in enumerate(vocab)}
    out = np.zeros((len(label_sets), len(vocab)), np.float32)
    for n, ls in enumerate(label_sets):
        for lab in ls:
            if lab in index:
                out[n, index[lab]] = 1.0
    return out


def zscore(raw: np.ndarray, cfg: VAEConfig) -> np.ndarray:
    """Raw CONTROLS (N, 4) -> z-scores, NaN (no pitch) -> 0 (typical)."""
    z = (raw - np.array(cfg.control_mean)) / np.array(cfg.control_std)
    return np.nan_to_num(z, nan=0.0).astype(np.float32)


def control_columns(raw: np.ndarray, cfg: VAEConfig) -> np.ndarray:
    """Raw CONTROLS (N, 4) -> the columns that close a condition: (N, 5) = has a tone
    (1 / 0; the pitch is not NaN) + the z-scores, or (N, 4) for a model without `tone`."""
    z = zscore(raw, cfg)
    return np.concatenate([np.isfinite(raw[:, 3:4]).astype(np.float32), z], 1) if cfg.tone else z


def controls(x: np.ndarray, code: np.ndarray, cfg: CodecConfig = CODEC) -> np.ndarray:
    """The CONTROLS of a normalised hit (`codec.normalise`) and its code, in log
    units: log centroid Hz, log decay ms, log(1 + attack ms), log2 of the body
    sine's amplitude-weighted frequency (NaN when it has no audible tone). (4,)"""
    from .features import DESCRIPTOR_NAMES, descriptors
    d = dict(zip(DESCRIPTOR_NAMES, descriptors(x, cfg.sr)))
    amp = code[AMP].astype(np.float64)
    w = np.where(amp > -40, 10 ** (amp / 20), 0.0)   # tones quieter than -40 dB don't set the pitch
    pitch = float(np.sum(w * code[FREQ]) / w.sum()) + np.log2(100) if w.sum() > 0 else np.nan
    return np.array([np.log(max(d["centroid_hz"], 20.0)), np.log(max(d["decay_ms"], 1.0)),
                     np.log1p(max(d["attack_ms"], 0.0)), pitch], np.float32)

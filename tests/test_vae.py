import numpy as np
import torch

from drummy import codec, vae
from conftest import hat, kick


def _model(labels=("kick", "hihat", "808")):
    return vae.BlendVAE(vae.VAEConfig(labels=list(labels), latent=4, width=32, hidden=32))


def test_shapes():
    m = _model()
    cc = m.cfg.codec_cfg
    x = torch.randn(3, cc.channels, cc.frames)
    c = torch.randn(3, m.cfg.cond_dim)
    out, mu, logvar = m(x, c)
    assert out.shape == x.shape and mu.shape == logvar.shape == (3, 4)


def test_scale_roundtrip():
    code = torch.from_numpy(np.stack([codec.analyse(kick(0)), codec.analyse(hat(0))]))
    back = vae.unscale_code(vae.scale_code(code, -100.0), -100.0)
    assert torch.allclose(back, code, atol=1e-4)


def test_save_load_gives_the_same_model(tmp_path):
    m = _model().eval()
    extra = {"note": "x"}
    data = {"data.labels": torch.ones(2, 3, dtype=torch.uint8)}
    vae.save(m, tmp_path / "v.safetensors", extra, data)
    m2, extra2, tensors = vae.load(tmp_path / "v.safetensors")
    z, c = torch.randn(2, 4), torch.randn(2, m.cfg.cond_dim)
    assert torch.equal(m.decode(z, c), m2.decode(z, c))
    assert extra2 == extra and torch.equal(tensors["data.labels"], data["data.labels"])
    assert (tmp_path / "v.json").exists()


def test_load_errors_are_one_line(tmp_path):
    import pytest
    from drummy.classifier import ModelError
    with pytest.raises(ModelError, match="drummy train vae"):
        vae.load(tmp_path / "missing.safetensors")
    (tmp_path / "bad.safetensors").write_bytes(b"not a model")
    with pytest.raises(ModelError, match=r"cannot load blend model .*; run `drummy train vae -w .*` again"):
        vae.load(tmp_path / "bad.safetensors")


def test_vocabulary_and_multi_hot():
    sets = [["kick", "808"], ["kick", "808"], ["hihat", "808"], ["snare", "rare"], ["kick", "909"]] + [["hihat", "909"]] * 2
    vocab = vae.vocabulary(sets, min_count=3)
    assert vocab[:3] == ["kick", "snare", "hihat"] and "808" in vocab and "909" in vocab and "rare" not in vocab
    mh = vae.multi_hot(sets, vocab)
    assert mh.shape == (7, len(vocab)) and mh[0, vocab.index("808")] == 1 and mh[3].sum() == 1


def test_controls_track_the_sound():
    bright = codec.normalise(hat(0))
    dark = codec.normalise(kick(0))
    cb, ck = (vae.controls(x, codec.analyse(x)) for x in (bright, dark))
    assert cb[0] > ck[0] + 2                # log centroid: a hat is far brighter
    assert np.isfinite(ck[3]) and 40 < 2 ** ck[3] < 200   # the kick has a pitch in its body's range


def test_conditions_say_whether_a_hit_has_a_tone(tmp_path):
    # a toneless hit's pitch z-scores to 0, the same as a tone at the mean pitch: the
    # tone column is what tells the decoder a hat has no body sine
    raw = np.array([[8.0, 5.0, 0.5, 7.0], [9.0, 4.0, 0.2, np.nan]], np.float32)
    cfg = vae.VAEConfig(labels=["kick", "hihat"], control_mean=[8.5, 4.5, 0.3, 7.0], tone=True)
    cols = vae.control_columns(raw, cfg)
    assert cols.shape == (2, 5) and cols[:, 0].tolist() == [1.0, 0.0] and cols[0, 4] == cols[1, 4] == 0.0
    assert np.array_equal(cols[:, 1:], vae.zscore(raw, cfg)) and cfg.cond_dim == 2 + 5
    old = vae.VAEConfig(labels=["kick", "hihat"])                 # a model saved before the column
    assert vae.control_columns(raw, old).shape == (2, 4) and old.cond_dim == 2 + 4
    m = vae.BlendVAE(cfg)
    vae.save(m, tmp_path / "v.safetensors", {}, {})
    assert vae.load(tmp_path / "v.safetensors")[0].cfg.tone


def test_log_centroid_follows_the_measured_brightness():
    # low-passed and high-passed versions of the same hits, plus a kick: the code's
    # differentiable brightness must rank them as the audio's centroid does
    from scipy import signal
    rng = np.random.default_rng(0)
    hits = [kick(0), hat(0), kick(1)]
    for cut in (500, 2000, 8000):
        y = rng.standard_normal(22050) * np.exp(-np.arange(22050) / 3000)
        hits.append(signal.sosfilt(signal.butter(2, cut, "lowpass", fs=44100, output="sos"), y))
    xs = [codec.normalise(y) for y in hits]
    codes = [codec.analyse(x) for x in xs]
    measured = np.array([vae.controls(x, c)[0] for x, c in zip(xs, codes)])
    proxy = vae.log_centroid(torch.from_numpy(np.stack(codes))).numpy()
    assert np.corrcoef(measured, proxy)[0, 1] > 0.95
    # and it is differentiable, for the training loss
    code = torch.from_numpy(codes[1]).unsqueeze(0).requires_grad_(True)
    vae.log_centroid(code).sum().backward()
    assert torch.isfinite(code.grad).all() and code.grad.abs().sum() > 0
    # a decoder early in training may put out anything: the loss stays finite (it went NaN)
    wild = torch.from_numpy(codes[0]).unsqueeze(0).clone()
    wild[:, codec.FREQ] = 200.0
    wild[:, :10] = 500.0
    assert torch.isfinite(vae.log_centroid(wild)).all()


def test_steer_brightness_reaches_a_target_and_audio_follows():
    xs = [codec.normalise(y) for y in (kick(0), hat(0))]
    code = torch.from_numpy(np.stack([codec.analyse(x) for x in xs]))
    base = vae.log_centroid(code)
    for move in (-0.05, 0.05):                                        # about -5% / +5% in Hz
        out = vae.steer_brightness(code, base + move)
        assert torch.allclose(vae.log_centroid(out), base + move, atol=0.025)
        y = codec.synthesise(out, seed=0).numpy()
        got = np.array([vae.controls(codec.normalise(v), codec.analyse(codec.normalise(v)))[0] for v in y])
        before = np.array([vae.controls(x, c.numpy())[0] for x, c in zip(xs, code)])
        assert np.all(np.sign(got - before) == np.sign(move))


def test_steering_brightness_keeps_the_envelope():
    # a tilt alone lifted a dark hat's low-rich tail against its attack; steered, every
    # loud frame's level stays where it was, and the spectrum moves as asked
    xs = [codec.normalise(y) for y in (hat(0), hat(1), kick(0))]
    code = torch.from_numpy(np.stack([codec.analyse(x) for x in xs]))
    for move in (-0.3, 0.3):
        out = vae.steer_brightness(code, vae.log_centroid(code) + move)
        assert torch.all(torch.sign(vae.log_centroid(out) - vae.log_centroid(code)) == np.sign(move))
        loud = codec.envelope_db(code) > codec.envelope_db(code).amax(1, keepdim=True) - 60
        assert torch.allclose(codec.envelope_db(out)[loud], codec.envelope_db(code)[loud], atol=0.01)


def test_a_darker_hit_is_no_longer():
    # tilting a hat darker lifts the faint hiss after its end (above the decoder's gate)
    # into a tail; the steered hit must end where it did
    code = torch.from_numpy(codec.analyse(codec.normalise(hat(0))))[None]
    cfg = codec.CODEC
    noise = code[:, : cfg.bands]
    code[:, : cfg.bands] = noise.clamp(min=-75.0)                   # a decoder's hiss floor
    out = vae.steer_brightness(code, vae.log_centroid(code) - 0.3)
    env = codec.envelope_db(code)[0]
    end = int(torch.nonzero(env >= env.max() - 60).max()) + 1      # the untilted hit's last frame above -60 dB
    assert end < code.shape[-1] - 20
    assert (out[0, : cfg.bands, end:] == cfg.floor_db).all()
    assert (out[0, : cfg.bands, :end] > cfg.floor_db).any()


def test_a_model_replaced_while_it_loads_is_named_by_the_hash_of_the_weights_loaded(tmp_path, monkeypatch):
    # the model was read to load it, then read again by name to hash it: a `train vae` saving in between
    # gave hits one model's sound and the other's hash in their sidecars
    from drummy.generate import Generator
    from drummy.library import file_hash
    data = {"data.labels": torch.ones(2, 3, dtype=torch.uint8), "data.controls": torch.zeros(2, 4)}
    torch.manual_seed(0)
    vae.save(_model().eval(), tmp_path / "a.safetensors", {}, data)
    vae.save(_model().eval(), tmp_path / "b.safetensors", {}, data)
    path = tmp_path / "vae.safetensors"
    path.write_bytes((tmp_path / "a.safetensors").read_bytes())
    load_state_dict = vae.BlendVAE.load_state_dict

    def saved_meanwhile(self, *a, **kw):                   # the weights are read: a training saves its model now
        path.write_bytes((tmp_path / "b.safetensors").read_bytes())
        return load_state_dict(self, *a, **kw)
    monkeypatch.setattr(vae.BlendVAE, "load_state_dict", saved_meanwhile)
    gen = Generator.load(path)
    monkeypatch.undo()
    a = vae.load(tmp_path / "a.safetensors")[0]
    assert all(torch.equal(x, y) for x, y in zip(gen.model.state_dict().values(), a.state_dict().values()))
    assert gen.hash == file_hash(tmp_path / "a.safetensors") != file_hash(path)

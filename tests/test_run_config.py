"""Tests of RunConfig: the presets' settings, overrides, validation, JSON, resume checks."""

import dataclasses
import json

import pytest

from gan_mnist import RunConfig, models, run_config


def test_presets_follow_the_write_ups():
    vanilla = RunConfig.from_preset("vanilla")
    assert (vanilla.value_range, vanilla.latent, vanilla.latent_dim) == ((0.0, 1.0), "uniform", 100)
    assert (vanilla.loss, vanilla.label_smoothing) == ("non_saturating", 0.0)
    assert (vanilla.g_learning_rate, vanilla.d_learning_rate) == (0.001, 0.001)
    assert (vanilla.g_beta_1, vanilla.d_beta_1, vanilla.g_beta_2) == (0.9, 0.9, 0.999)
    assert (vanilla.batch_size, vanilla.steps) == (128, 100_000)
    leaky = RunConfig.from_preset("leaky")
    assert leaky.g_learning_rate == 0.002 and leaky.batch_size == 100
    assert leaky.label_smoothing == 0.1
    assert leaky.value_range == (-1.0, 1.0) and leaky.latent == "uniform"
    classic = RunConfig.from_preset("classic")
    assert classic.batch_size == 16 and classic.steps == 3000
    assert classic.value_range == (-1.0, 1.0) and classic.latent == "normal"
    recommended = RunConfig.from_preset("recommended")
    assert (recommended.g_learning_rate, recommended.d_beta_1) == (0.0002, 0.5)
    # The dataclass defaults are the recommended DCGAN's.
    assert recommended == RunConfig()
    for preset in models.PRESETS:
        config = RunConfig.from_preset(preset)
        assert config.architecture == ("mlp" if preset in models.MLP_PRESETS else "dcgan")
    # The presets' table is not changed by making configs from it.
    assert run_config.PRESET_SETTINGS["leaky"]["batch_size"] == 100


def test_overrides_and_shortcuts():
    config = RunConfig.from_preset("recommended", learning_rate=1e-4, beta_1=0.0, beta_2=0.9,
                                   loss="wasserstein", d_steps=5, gradient_penalty=10.0)
    assert (config.g_learning_rate, config.d_learning_rate) == (1e-4, 1e-4)
    assert (config.g_beta_1, config.d_beta_1, config.g_beta_2, config.d_beta_2) == (
        0.0, 0.0, 0.9, 0.9
    )
    # A loss without label smoothing drops the preset's, unless it is asked for.
    assert RunConfig.from_preset("leaky", loss="hinge").label_smoothing == 0.0
    with pytest.raises(ValueError, match="label_smoothing applies to the minimax"):
        RunConfig.from_preset("leaky", loss="hinge", label_smoothing=0.1)
    with pytest.raises(ValueError, match=r"Unknown setting\(s\) \['learning_rates'\]"):
        RunConfig.from_preset("leaky", learning_rates=0.1)
    # Frozen: a changed copy comes from replace(), which validates again.
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.steps = 10
    assert config.replace(steps=10).steps == 10 and config.steps == 5000
    with pytest.raises(ValueError, match="steps"):
        config.replace(steps=0)


@pytest.mark.parametrize(
    "changes, message",
    [
        (dict(preset="big"), "Unknown preset 'big'"),
        (dict(latent="gaussian"), "Unknown latent distribution"),
        (dict(latent_dim=0), "latent_dim must be an integer of at least 1"),
        (dict(value_range=(0, 255)), r"value_range must be \(0, 1\)"),
        (dict(value_range="unit"), "value_range must be a"),
        (dict(loss="wgan"), "Unknown loss 'wgan'"),
        (dict(label_smoothing=1.0), r"label_smoothing must be a number in \[0, 1\)"),
        (dict(d_steps=0), "d_steps"),
        (dict(d_steps=1.5), "d_steps"),
        (dict(gradient_penalty=-1.0), "gradient_penalty"),
        (dict(mode_seeking=-0.5), "mode_seeking must be a number"),
        (dict(g_learning_rate=0.0), "g_learning_rate"),
        (dict(d_beta_1=1.0), "d_beta_1"),
        (dict(batch_size=True), "batch_size"),
        (dict(steps=0), "steps must be an integer of at least 1"),
        (dict(seed=-1), "seed"),
        (dict(deterministic="yes"), "deterministic"),
        (dict(jit_compile="yes"), "jit_compile"),
        (dict(jit_compile=True, deterministic=True), "cannot run with deterministic"),
        (dict(steps_per_execution=0), "steps_per_execution"),
        (dict(snapshot_every=0), "snapshot_every"),
        (dict(checkpoint_every=2.5), "checkpoint_every"),
        (dict(keep_checkpoints=0), "keep_checkpoints"),
        (dict(generator_widths=(16, 0)), "generator_widths"),
        (dict(discriminator_widths=8), "discriminator_widths"),
        (dict(eval_samples=-1), "eval_samples"),
    ],
)
def test_bad_settings_raise_one_clear_value_error(changes, message):
    with pytest.raises(ValueError, match=message):
        RunConfig(**changes)


def test_json_round_trip_is_exact():
    config = RunConfig.from_preset("leaky", generator_widths=[32], steps=7, snapshot_every=2)
    assert config.generator_widths == (32,)
    values = config.to_dict()
    assert values["value_range"] == [-1.0, 1.0] and values["generator_widths"] == [32]
    assert json.loads(config.to_json()) == values
    assert RunConfig.from_dict(values) == config
    assert RunConfig.from_json(config.to_json()) == config
    with pytest.raises(ValueError, match=r"Unknown setting\(s\) \['model'\]"):
        RunConfig.from_dict(dict(values, model="mlp"))


def test_differences_name_what_stops_a_resume():
    config = RunConfig.from_preset("vanilla", steps=100)
    # Steps, intervals and speed options may change between a run and its resumption.
    longer = config.replace(steps=500, checkpoint_every=10, jit_compile=False,
                            steps_per_execution=7, deterministic=False)
    assert config.differences(longer) == {}
    other = config.replace(loss="least_squares", seed=3)
    assert config.differences(other) == {
        "loss": ("non_saturating", "least_squares"), "seed": (0, 3),
    }
    # A decay ends at the last step, so then the steps count too.
    decayed = config.replace(decay_start=50)
    assert decayed.differences(decayed.replace(steps=500)) == {"steps": (100, 500)}
    assert set(run_config.RESUME_KEYS) < {field.name for field in dataclasses.fields(RunConfig)}

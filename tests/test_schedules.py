"""The learning-rate decay: its formula, its wiring into both optimisers, and exact resume."""

import keras
import numpy as np
import pytest

from gan_mnist import RunConfig, build_gan, data, train
from gan_mnist.schedules import LinearDecay

CONFIG = RunConfig.from_preset(
    "leaky", latent_dim=8, generator_widths=(8,), discriminator_widths=(8,), batch_size=16,
    steps=30, decay_start=10, checkpoint_every=10, jit_compile=False,
)


@pytest.fixture(scope="module")
def digits():
    return data.load_mnist("test")[0][:256]


def test_linear_decay_holds_then_falls_to_zero():
    schedule = LinearDecay(4e-4, start=10, end=30)
    steps = np.arange(0, 41)
    expected = 4e-4 * np.clip((30 - steps) / 20, 0, 1)  # The formula, written out again.
    got = [float(schedule(step)) for step in steps]
    np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-12)
    assert got[10] == pytest.approx(4e-4) and got[20] == pytest.approx(2e-4) and got[30] == 0
    # It saves and loads with an optimiser, as Keras schedules do.
    schedules = keras.optimizers.schedules
    again = schedules.deserialize(schedules.serialize(schedule))
    assert isinstance(again, LinearDecay) and again.get_config() == schedule.get_config()
    with pytest.raises(ValueError, match="0 <= start < end"):
        LinearDecay(1e-3, start=30, end=30)


@pytest.mark.parametrize("changes, message", [
    (dict(decay_start=30), r"decay_start \(30\) must be below steps \(30\)"),
    (dict(decay_start=-1), "decay_start must be an integer of at least 0"),
    (dict(decay_start=2.5), "decay_start must be an integer"),
])
def test_bad_decay_start_is_a_clear_value_error(changes, message):
    with pytest.raises(ValueError, match=message):
        CONFIG.replace(**changes)


def test_each_optimiser_counts_the_decay_in_its_own_updates():
    gan = build_gan(CONFIG.replace(d_steps=2, d_learning_rate=1e-3))
    # Step 20 of 30, halfway down the decay: 20 generator updates, 40 discriminator updates.
    gan.g_optimizer.iterations.assign(20)
    gan.d_optimizer.iterations.assign(40)
    assert float(gan.g_optimizer.learning_rate) == pytest.approx(0.002 / 2)
    assert float(gan.d_optimizer.learning_rate) == pytest.approx(1e-3 / 2)
    # Without a decay the optimisers keep a plain rate: runs of before are unchanged.
    plain = build_gan(CONFIG.replace(decay_start=None))
    plain.g_optimizer.iterations.assign(20)
    assert float(plain.g_optimizer.learning_rate) == pytest.approx(0.002)


def test_a_decayed_run_ends_at_zero_and_resumes_exactly(digits, tmp_path):
    straight = train(CONFIG.replace(checkpoint_every=None), digits)  # No folder: no checkpoints.
    assert float(straight.gan.g_optimizer.learning_rate) == 0.0
    assert straight.history != train(CONFIG.replace(decay_start=None, checkpoint_every=None),
                                     digits).history

    class FailAtStep25(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            if int(self.model.step_counter.numpy()) == 25:
                raise RuntimeError("a fault")

    with pytest.raises(RuntimeError, match="a fault"):
        train(CONFIG.replace(steps_per_execution=1), digits, tmp_path,
              callbacks=[FailAtStep25()])
    resumed = train(CONFIG, digits, tmp_path, resume=True)
    assert resumed.resumed_from == 20 and resumed.history == straight.history
    # The decay ends at the run's last step, so a decayed run cannot be lengthened.
    with pytest.raises(ValueError, match="steps"):
        train(CONFIG.replace(steps=40), digits, tmp_path, resume=True)

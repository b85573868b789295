"""Styles within each digit: the style numbers of shipped generators or run folders.

    python benchmarks/styles.py dcgan conditional_dcgan
    python benchmarks/styles.py runs/my_run --bins 10 --samples 10000

Each generator draws ``--samples`` digits (seed 0); ``gan_mnist.styles.evaluate_styles`` puts
each digit the evaluator reads as class c in its nearest of ``--bins`` k-means bins of the real
test digits of class c, and compares the bins' shares with the real ones per class: the number
of bins whose share differs at p < 0.05 (NDB), the Jensen-Shannon divergence in bits, and the
most under-drawn bin with its ratio to the real share; beside them, the same numbers for real
training digits in ``--floor-subsets`` disjoint sets of the same size (mean and standard
deviation), and each class's FID floor in as many disjoint sets of real digits (its ratio is
printed against the lowest and highest of them). Beside them, the evaluator's overall and per-class numbers of the same digits: FID
over its floor, the classifier score, the worst class against its own floor, and a conditional
GAN's label accuracy (it is asked for n / 10 of each digit, as ``class_metrics.evaluate_gan``
asks it), all from the same digits (``class_metrics.evaluate_images``). A table goes to standard
error and one JSON line per generator to standard output.
"""

import argparse
import json
import sys
from pathlib import Path

import numpy as np

import gan_mnist
from gan_mnist import class_metrics, conditioning, shipped, styles


def load(name):
    """A generator: a shipped one by name, or the latest checkpoint of a run folder."""
    if name in shipped.NAMES:
        return gan_mnist.pretrained(name)
    if Path(name).is_dir():
        gan, _ = gan_mnist.Run(name).load_gan()  # The GAN and its step.
        return gan
    raise ValueError(f"{name!r} is neither a shipped generator {shipped.NAMES} nor a run folder.")


def rounded(value):
    """A number or a (nested, possibly ragged) list of numbers, rounded to 4 decimals."""
    if isinstance(value, list):
        return [rounded(item) for item in value]
    if isinstance(value, np.integer):
        return int(value)
    return round(float(value), 4) if isinstance(value, (float, np.floating)) else value


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("generators", nargs="+", help="shipped names or run folders")
    parser.add_argument("--samples", type=int, default=10_000)
    parser.add_argument("--bins", type=int, default=styles.BINS)
    parser.add_argument("--floor-subsets", type=int, default=5)
    arguments = parser.parse_args(argv)
    for name in arguments.generators:
        model = load(name)
        # A conditional GAN is asked for n / 10 digits of each label, as evaluate_gan asks it.
        labels = None
        if getattr(model, "conditional", False):
            labels = conditioning.digits_in_rows(arguments.samples)
        asked = {} if labels is None else dict(labels=labels)
        digits = model.generate(arguments.samples, seed=0, **asked)
        scores = class_metrics.evaluate_images(digits, n=arguments.samples, labels=labels,
                                               value_range=model.value_range)
        found = styles.evaluate_styles(digits, value_range=model.value_range,
                                       bins=arguments.bins,
                                       floor_subsets=arguments.floor_subsets)
        found.update({key: scores.get(key) for key in (
            "fid_ratio", "score", "worst_class", "worst_class_ratio", "label_accuracy")})
        found["class_fid_ratio"] = (np.asarray(scores["class_fid"])
                                    / np.asarray(scores["class_fid_floor"])).tolist()
        # The per-class floor's own noise: the FID of disjoint sets of real digits.
        spread = class_metrics.class_fid_floor_spread(scores["class_counts"],
                                                      arguments.floor_subsets, arguments.samples)
        found["class_fid_floor_sets"] = [spread[digit] for digit in range(10)]
        found["class_fid_ratio_range"] = [
            [scores["class_fid"][digit] / max(spread[digit]),
             scores["class_fid"][digit] / min(spread[digit])] for digit in range(10)]
        accuracy = found["label_accuracy"]
        print(f"{name}: FID {found['fid_ratio']:.1f}x the floor, score {found['score']:.2f}, "
              f"worst class {found['worst_class']} at {found['worst_class_ratio']:.1f}x"
              + ("" if accuracy is None else f", label accuracy {accuracy:.1%}")
              + f"; NDB {found['ndb_total']} (real digits {found['floor_ndb_total']:.1f}), "
              f"mean JSD {found['jsd_mean']:.4f} (real {found['floor_jsd_mean_all']:.4f})",
              file=sys.stderr)
        for digit in range(10):
            low, high = found["class_fid_ratio_range"][digit]
            print(f"  {digit}: FID {found['class_fid_ratio'][digit]:4.1f}x its floor "
                  f"({low:.1f}x to {high:.1f}x over "
                  f"{len(found['class_fid_floor_sets'][digit])} real sets); "
                  f"NDB {found['ndb'][digit]:2d} (real "
                  f"{found['floor_ndb_mean'][digit]:.1f} ± {found['floor_ndb_std'][digit]:.1f}), "
                  f"JSD {found['jsd'][digit]:.4f} (real {found['floor_jsd_mean'][digit]:.4f} ± "
                  f"{found['floor_jsd_std'][digit]:.4f}), most under-drawn bin "
                  f"{found['under_drawn_bin'][digit]} at {found['under_drawn_ratio'][digit]:.2f} "
                  f"of its real share (real digits' lowest: "
                  f"{found['floor_under_drawn_ratio_mean'][digit]:.2f})", file=sys.stderr)
        print(json.dumps(dict(generator=name, samples=arguments.samples, bins=arguments.bins,
                              **{key: rounded(value) for key, value in found.items()})))
    return 0


if __name__ == "__main__":
    sys.exit(main())
